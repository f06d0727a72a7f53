"""OpenStack-style clients, unmodified, against a live teamlabel server: keystoneauth1 (the auth
library under openstacksdk and the SDKs built on it, such as the Open Telekom Cloud extensions)
and openstacksdk itself, at the versions pinned in requirements.txt.

Run by crates/cli/tests/cli/sdk_clients.rs, which starts the server, gives the owner a password
and passes the environment (see ENV below). To run it by hand against a server of your own, set
the same variables and run `python test_openstack.py`.

Nothing here tells a client where ModelArts is: each one is given only the identity URL (the
server's /v3, or its root) and a password, and finds ModelArts the way these SDKs do, by looking
up service type `modelartsv2` in the token's catalog.

What it checks:
  * Discovery: keystoneauth1 reads the Keystone v3 version document at /v3 and the version list
    at the root, and signs in from either auth_url without falling back to guessing.
  * Password sign-in, then the `modelartsv2` endpoint (public, internal, admin; region `local`)
    at /v2/{project_id}, through which datasets are listed, created and read.
  * The token method: a token exchanged for a new one of the same user and project, expiring
    with it, which reaches the same datasets; also through the generic plugin.
  * openstacksdk's Connection: the same endpoint and dataset calls through conn.session.
  * Refusals reach the client with the server's message (Keystone's error shape): a wrong
    password, an unknown token, a token scoped to another project; and a service type the
    catalog lacks is EndpointNotFound, the error these SDKs gave before `modelartsv2` was there.
  * The Open Telekom Cloud extensions (otcextensions) on that connection: their ModelArts v2
    proxy syncs a dataset with its data source (`dataset_sync`) and reads the sync's status
    (`get_dataset_sync_status`): files added to and removed from the source between two syncs
    come and go as samples.
"""

import os
import sys
import time
import unittest
import warnings

from keystoneauth1 import adapter, discover, exceptions, session
from keystoneauth1.identity import generic, v3
import openstack
import openstack.warnings
from otcextensions import sdk as otc_sdk

ENV = {
    "TL_BASE_URL": "the server, e.g. http://127.0.0.1:8080",
    "TL_PROJECT_ID": "the project under test",
    "TL_PROJECT_NAME": "its name",
    "TL_OWNER_EMAIL": "the project's owner",
    "TL_OWNER_PASSWORD": "the owner's password",
    "TL_SYNC_PATH": "a storage path (/bucket/folder/) the server's object store reads",
    "TL_SYNC_DIR": "the local folder that storage path is (the script writes files there)",
}

E = {}
# A suffix that keeps names unique when the test runs twice against one server.
RUN = "%d-%d" % (os.getpid(), int(time.time()))
SERVICE = "modelartsv2"
REGION = "local"


def load_env():
    missing = [name for name in ENV if not os.environ.get(name)]
    if missing:
        sys.exit(
            "test_openstack.py: missing environment variables:\n"
            + "".join("  %s: %s\n" % (name, ENV[name]) for name in missing)
            + "(crates/cli/tests/cli/sdk_clients.rs sets them; run `cargo test -p teamlabel --test cli -- openstack`)"
        )
    return {name: os.environ[name] for name in ENV}


def base():
    return E["TL_BASE_URL"].rstrip("/")


def modelarts_root():
    return "%s/v2/%s" % (base(), E["TL_PROJECT_ID"])


def password_auth(auth_url=None, password=None, **scope):
    """keystoneauth1's generic password plugin, as openstacksdk builds it from a clouds.yaml
    (it discovers the identity version at auth_url before signing in)."""
    if not scope:
        scope = {"project_name": E["TL_PROJECT_NAME"], "project_domain_name": "Default"}
    return generic.Password(
        auth_url=auth_url or base() + "/v3",
        username=E["TL_OWNER_EMAIL"],
        password=password or E["TL_OWNER_PASSWORD"],
        user_domain_name="Default",
        **scope
    )


class Case(unittest.TestCase):
    def connect(self):
        with warnings.catch_warnings():
            # openstacksdk warns on every connection that its optional InfluxDB metrics are
            # deprecated; it says nothing about this server.
            warnings.filterwarnings("ignore", message="Support for InfluxDB")
            conn = openstack.connect(
                auth_url=base() + "/v3",
                username=E["TL_OWNER_EMAIL"],
                password=E["TL_OWNER_PASSWORD"],
                project_name=E["TL_PROJECT_NAME"],
                user_domain_name="Default",
                project_domain_name="Default",
                region_name=REGION,
                # Only what is given here: no clouds.yaml, no OS_* variables of the machine.
                load_yaml_config=False,
                load_envvars=False,
                app_name="teamlabel-test",
            )
        self.addCleanup(conn.close)
        return conn

    def modelarts(self, sess, **kwargs):
        """The ModelArts v2 API of the session's project, found in the catalog only."""
        return adapter.Adapter(sess, service_type=SERVICE, **kwargs)

    def create_dataset(self, api, name):
        reply = api.post("/datasets", json={"dataset_name": name, "dataset_type": 0, "labels": [{"name": "cat"}]})
        self.assertEqual(reply.status_code, 201, reply.text)
        return reply.json()["dataset_id"]

    def dataset_names(self, api):
        reply = api.get("/datasets", params={"limit": 100})
        self.assertEqual(reply.status_code, 200, reply.text)
        return [d["dataset_name"] for d in reply.json()["datasets"]]


class Discovery(Case):
    def test_the_v3_document_and_the_root_list_name_v3_stable(self):
        sess = session.Session()
        for url in (base() + "/v3", base()):
            with self.subTest(url=url):
                versions = discover.Discover(sess, url).version_data()
                self.assertEqual(len(versions), 1, versions)
                self.assertEqual(versions[0]["version"], (3, 6), versions)
                self.assertEqual(versions[0]["url"], base() + "/v3/", versions)
                self.assertEqual(versions[0]["raw_status"], "stable", versions)

    def test_the_generic_plugin_signs_in_from_either_auth_url_without_guessing(self):
        for url in (base() + "/v3", base()):
            with self.subTest(auth_url=url):
                # keystoneauth1 warns when discovery fails and it guesses the version from
                # the URL (from the root it cannot guess at all).
                with self.assertNoLogs("keystoneauth.identity.generic.base", level="WARNING"):
                    sess = session.Session(auth=password_auth(auth_url=url))
                    self.assertTrue(sess.get_token())
                self.assertEqual(sess.get_project_id(), E["TL_PROJECT_ID"])


class PasswordAndCatalog(Case):
    def test_modelartsv2_is_in_the_catalog_at_the_projects_v2_root(self):
        auth = password_auth()
        sess = session.Session(auth=auth)
        for interface in ("public", "internal", "admin"):
            with self.subTest(interface=interface):
                api = self.modelarts(sess, interface=interface, region_name=REGION)
                self.assertEqual(api.get_endpoint(), modelarts_root())
        catalog = auth.get_access(sess).service_catalog
        self.assertEqual(catalog.url_for(service_type=SERVICE), modelarts_root())
        # The entries the Huawei SDKs read are still there.
        self.assertEqual(catalog.url_for(service_type="modelarts").rstrip("/"), base())
        self.assertEqual(catalog.url_for(service_type="iam").rstrip("/"), base())

    def test_datasets_are_listed_created_and_read_through_the_catalog(self):
        sess = session.Session(auth=password_auth())
        api = self.modelarts(sess)
        name = "ksa-" + RUN
        self.assertNotIn(name, self.dataset_names(api))
        dataset = self.create_dataset(api, name)
        # The request went to the catalog's URL with the session's token.
        self.assertIn(name, self.dataset_names(api))
        reply = api.get("/datasets/%s" % dataset)
        self.assertEqual(reply.status_code, 200, reply.text)
        self.assertEqual(reply.json()["dataset_name"], name, reply.json())
        self.assertEqual(reply.request.url, "%s/datasets/%s" % (modelarts_root(), dataset))
        self.assertEqual(reply.request.headers["X-Auth-Token"], sess.get_token())
        # A missing dataset is the API's 404, raised by the adapter.
        with self.assertRaises(exceptions.NotFound):
            api.get("/datasets/%s" % ("0" * 19))

    def test_a_wrong_password_is_refused_with_the_servers_message(self):
        sess = session.Session(auth=password_auth(password="not the password"))
        with self.assertRaises(exceptions.Unauthorized) as refused:
            sess.get_token()
        self.assertIn("The user name, password or project is wrong", refused.exception.message)


class TokenMethod(Case):
    def test_a_token_is_exchanged_for_one_of_the_same_user_and_project(self):
        first_auth = password_auth()
        first = session.Session(auth=first_auth)
        first_access = first_auth.get_access(first)
        dataset_name = "token-" + RUN
        self.create_dataset(self.modelarts(first), dataset_name)

        for plugin in (v3.Token, generic.Token):
            with self.subTest(plugin=plugin.__module__ + "." + plugin.__name__):
                auth = plugin(auth_url=base() + "/v3", token=first.get_token(), project_id=E["TL_PROJECT_ID"])
                sess = session.Session(auth=auth)
                access = auth.get_access(sess)
                self.assertNotEqual(access.auth_token, first_access.auth_token)
                self.assertEqual(access.user_id, first_access.user_id)
                self.assertEqual(access.project_id, E["TL_PROJECT_ID"])
                self.assertEqual(access.expires, first_access.expires, "an exchanged token expires with the first")
                api = self.modelarts(sess)
                self.assertEqual(api.get_endpoint(), modelarts_root())
                self.assertIn(dataset_name, self.dataset_names(api))
                self.assertEqual(api.get("/datasets").request.headers["X-Auth-Token"], access.auth_token)

    def test_an_unknown_token_or_another_project_is_refused_with_the_servers_message(self):
        unknown = session.Session(auth=v3.Token(auth_url=base() + "/v3", token="tl_" + "0" * 64,
                                                project_id=E["TL_PROJECT_ID"]))
        with self.assertRaises(exceptions.Unauthorized) as refused:
            unknown.get_token()
        self.assertIn("is not a token of this server", refused.exception.message)

        token = session.Session(auth=password_auth()).get_token()
        elsewhere = session.Session(auth=v3.Token(auth_url=base() + "/v3", token=token,
                                                  project_name="not-" + E["TL_PROJECT_NAME"],
                                                  project_domain_name="Default"))
        with self.assertRaises(exceptions.Unauthorized) as refused:
            elsewhere.get_token()
        self.assertIn("not the project of the token", refused.exception.message)


class OpenStackSDK(Case):
    def test_a_connection_finds_modelartsv2_and_calls_it(self):
        conn = self.connect()
        self.assertEqual(conn.endpoint_for(SERVICE), modelarts_root())
        self.assertEqual(conn.current_project_id, E["TL_PROJECT_ID"])
        where = {"service_type": SERVICE}
        name = "osdk-" + RUN
        reply = conn.session.post("/datasets", json={"dataset_name": name, "dataset_type": 0},
                                  endpoint_filter=where)
        self.assertEqual(reply.status_code, 201, reply.text)
        dataset = reply.json()["dataset_id"]
        listed = conn.session.get("/datasets", params={"limit": 100}, endpoint_filter=where).json()
        self.assertIn(dataset, [d["dataset_id"] for d in listed["datasets"]])
        one = conn.session.get("/datasets/%s" % dataset, endpoint_filter=where)
        self.assertEqual(one.json()["dataset_name"], name)
        self.assertTrue(one.request.url.startswith(modelarts_root() + "/"), one.request.url)

    def test_a_service_the_catalog_lacks_is_endpoint_not_found(self):
        conn = self.connect()
        with self.assertRaises(exceptions.EndpointNotFound) as missing:
            conn.session.get("/datasets", endpoint_filter={"service_type": "modelartsv3"})
        self.assertIn("public endpoint for modelartsv3 service not found", str(missing.exception))


class OTCExtensions(Case):
    """The ModelArts v2 proxy of the Open Telekom Cloud extensions, unmodified."""

    def setUp(self):
        # The extensions call openstacksdk methods it has deprecated; that says nothing about
        # this server.
        quiet = warnings.catch_warnings()
        quiet.__enter__()
        self.addCleanup(quiet.__exit__, None, None, None)
        warnings.filterwarnings("ignore", category=openstack.warnings.RemovedInSDK50Warning)

    def put(self, relative, data=b"\x89PNG\r\n\x1a\n"):
        path = os.path.join(E["TL_SYNC_DIR"], relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)

    def synced(self, ma, dataset):
        started = ma.dataset_sync(dataset)
        self.assertEqual(started.status, "RUNNING", started)
        for _ in range(400):
            status = ma.get_dataset_sync_status(dataset)
            if status.status != "RUNNING":
                break
            time.sleep(0.05)
        self.assertEqual(status.task_id, started.task_id)
        self.assertEqual(status.status, "COMPLETED", status)
        return status

    def test_a_dataset_is_synced_with_its_source_through_the_modelartsv2_proxy(self):
        conn = self.connect()
        otc_sdk.register_otc_extensions(conn)
        ma = conn.modelartsv2
        self.put("cat/1.png")
        self.put("dog/2.png")
        reply = conn.session.post(
            "/datasets",
            json={"dataset_name": "otc-" + RUN, "dataset_type": 0,
                  "data_sources": [{"data_type": 0, "data_path": E["TL_SYNC_PATH"]}]},
            endpoint_filter={"service_type": SERVICE},
        )
        self.assertEqual(reply.status_code, 201, reply.text)
        dataset = reply.json()["dataset_id"]

        never = ma.get_dataset_sync_status(dataset)
        self.assertEqual((never.status, never.dataset_id), ("NOT_EXIST", dataset))
        first = self.synced(ma, dataset)
        self.assertEqual((first.add_sample_count, first.deleted_sample_count, first.total_sample_count), (2, 0, 2))
        self.assertGreaterEqual(first.duration_time, 0)
        self.assertEqual(first.dataset_id, dataset)

        self.put("cat/3.png")
        os.remove(os.path.join(E["TL_SYNC_DIR"], "dog/2.png"))
        second = self.synced(ma, dataset)
        self.assertNotEqual(second.task_id, first.task_id)
        self.assertEqual((second.add_sample_count, second.deleted_sample_count, second.total_sample_count), (1, 1, 2))
        samples = conn.session.get("/datasets/%s/data-annotations/samples" % dataset,
                                   endpoint_filter={"service_type": SERVICE}).json()["samples"]
        self.assertEqual(sorted(s["sample_name"] for s in samples), ["cat/1.png", "cat/3.png"])


def main():
    E.update(load_env())
    program = unittest.main(argv=[sys.argv[0], "-v"] + sys.argv[1:], exit=False)
    result = program.result
    if not result.wasSuccessful():
        sys.exit("test_openstack.py: %d failed, %d errors (of %d tests) against %s"
                 % (len(result.failures), len(result.errors), result.testsRun, E["TL_BASE_URL"]))


if __name__ == "__main__":
    main()
