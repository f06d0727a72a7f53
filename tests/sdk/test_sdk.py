"""The official Huawei Cloud Python SDK core (huaweicloudsdkcore), unmodified, against a live
teamlabel server: AK/SK signatures, temporary credentials and IAM-style tokens.

Run by crates/cli/tests/cli/sdk_clients.rs, which starts the server, prepares the users and passes
them in the environment (see ENV below). To run it by hand against a server of your own, set
the same variables and run `python test_sdk.py`.

What it checks:
  * TeamFlow: with AK/SK only, the owner creates a dataset with labels, adds samples, creates a
    team, adds the labeler, creates and starts a team task; the labeler submits a batch of labels
    with the labeler's own AK/SK and reads them back. Then the same with tokens from
    /v3/auth/tokens (scoped by project name and by project id) sent as X-Auth-Token.
  * Refusals: each failure answers the expected status and ModelArts error code: a tampered
    signature or body, a malformed Authorization header, a wrong secret key, an unknown or
    revoked access key, another project (in the path, in X-Project-Id, or the key's own), an
    X-Sdk-Date 20 minutes off, temporary credentials without (or with a wrong) X-Security-Token,
    a bad token, and the lock after five wrong passwords.
"""

import os
import sys
import time
import unittest
from datetime import datetime, timedelta
from unittest import mock

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from huaweicloudsdkcore.signer import signer as sdk_signer  # noqa: E402
from tl_client import TeamlabelClient  # noqa: E402

ENV = {
    "TL_BASE_URL": "the server, e.g. http://127.0.0.1:8080",
    "TL_PROJECT_ID": "the project under test",
    "TL_PROJECT_NAME": "its name (tokens are also scoped by name)",
    "TL_OWNER_EMAIL": "the project's owner",
    "TL_OWNER_PASSWORD": "the owner's password",
    "TL_OWNER_AK": "an access key of the owner",
    "TL_OWNER_SK": "its secret key",
    "TL_LABELER_EMAIL": "a user of the project who is not in any task yet",
    "TL_LABELER_PASSWORD": "the labeler's password",
    "TL_LABELER_AK": "an access key of the labeler",
    "TL_LABELER_SK": "its secret key",
    "TL_LOCKOUT_EMAIL": "a user of the project used for nothing else (it gets locked)",
    "TL_LOCKOUT_PASSWORD": "that user's right password",
    "TL_OTHER_PROJECT_ID": "a second project",
    "TL_OTHER_AK": "an access key of a user of the second project",
    "TL_OTHER_SK": "its secret key",
}

SIGNATURE_INVALID = "ModelArts.0206"
AUTH_HEADER_INVALID = "ModelArts.0205"
TOKEN_INVALID = "ModelArts.0203"
PROJECT_MISMATCH = "ModelArts.0210"
SIGN_IN_FAILED = "ModelArts.4697"
USER_LOCKED = "ModelArts.4693"


def load_env():
    missing = [name for name in ENV if not os.environ.get(name)]
    if missing:
        sys.exit(
            "test_sdk.py: missing environment variables:\n"
            + "".join("  %s: %s\n" % (name, ENV[name]) for name in missing)
            + "(crates/cli/tests/cli/sdk_clients.rs sets them; run `cargo test -p teamlabel --test cli -- sdk_clients`)"
        )
    return {name: os.environ[name] for name in ENV}


E = {}
# A suffix that keeps names unique when the test runs twice against one server.
RUN = "%d-%d" % (os.getpid(), int(time.time()))


def client(**kwargs):
    return TeamlabelClient(E["TL_BASE_URL"], **kwargs)


def owner(**kwargs):
    """A client with the owner's AK/SK (any of project_id, ak, sk, ... replaced by kwargs)."""
    args = dict(project_id=E["TL_PROJECT_ID"], ak=E["TL_OWNER_AK"], sk=E["TL_OWNER_SK"])
    args.update(kwargs)
    return client(**args)


def labeler():
    return client(project_id=E["TL_PROJECT_ID"], ak=E["TL_LABELER_AK"], sk=E["TL_LABELER_SK"])


def token_body(email, password, project):
    """A password sign-in body scoped to `project` ({"name": ...} or {"id": ...})."""
    return {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {"user": {"name": email, "password": password, "domain": {"name": "any"}}},
            },
            "scope": {"project": project},
        }
    }


def skewed_clock(offset):
    """A stand-in for the `datetime` the SDK's signer module uses, whose utcnow() is off by
    `offset`: the SDK then stamps and signs X-Sdk-Date with that time."""

    class Skewed(datetime):
        @classmethod
        def utcnow(cls):
            return datetime.utcnow() + offset

    return mock.patch.object(sdk_signer, "datetime", Skewed)


class Case(unittest.TestCase):
    def expect(self, api, reply, status, code=None, message=None):
        """Asserts the answer's status (and error_code, and a piece of error_msg)."""
        request = api.last_request
        where = "%s %s" % (request.method, request.url) if request is not None else "(not sent)"
        body = reply.body if isinstance(reply.body, dict) else {}
        self.assertEqual(reply.status, status,
                         "%s: expected HTTP %d, got %d %r" % (where, status, reply.status, reply.body))
        if code is not None:
            self.assertEqual(body.get("error_code"), code, "%s: error_code, in %r" % (where, reply.body))
        if message is not None:
            self.assertIn(message, body.get("error_msg", ""), "%s: error_msg, in %r" % (where, reply.body))
        return reply.body

    def close_later(self, api):
        self.addCleanup(api.close)
        return api


class TeamFlow(Case):
    """One dataset, team and task; the steps run in order (test_1, then test_2)."""

    flow = {}

    @classmethod
    def setUpClass(cls):
        cls.owner = owner()
        cls.labeler = labeler()

    @classmethod
    def tearDownClass(cls):
        cls.owner.close()
        cls.labeler.close()

    def task_path(self, sample_id=None):
        f = self.flow
        path = "/v2/{project_id}/datasets/%s/workforce-tasks/%s/data-annotations/samples" % (f["dataset"], f["task"])
        return path + ("/" + sample_id if sample_id else "")

    def labels_by_sample(self, reply_body):
        return {s["sample_id"]: sorted(l["name"] for l in s.get("labels", [])) for s in reply_body["samples"]}

    def test_1_owner_sets_up_a_team_task_and_the_labeler_labels_with_aksk(self):
        o, lab = self.owner, self.labeler
        ds = self.expect(o, o.call("POST", "/v2/{project_id}/datasets", body={
            "dataset_name": "sdk-" + RUN, "dataset_type": 0, "labels": [{"name": "cat"}, {"name": "dog"}],
        }), 201)
        dataset = ds["dataset_id"]
        self.assertIn("Authorization", o.last_request.header_params)
        self.assertTrue(o.last_request.header_params["Authorization"].startswith(
            "SDK-HMAC-SHA256 Access=%s, " % E["TL_OWNER_AK"]))
        self.assertEqual(o.last_request.header_params["X-Project-Id"], E["TL_PROJECT_ID"])
        listed = self.expect(o, o.call("GET", "/v2/{project_id}/datasets", query={"limit": 100, "offset": 0}), 200)
        self.assertIn(dataset, [d["dataset_id"] for d in listed["datasets"]])
        labels = self.expect(o, o.call("GET", "/v2/{project_id}/datasets/%s/data-annotations/labels" % dataset), 200)
        self.assertEqual(sorted(l["name"] for l in labels["labels"]), ["cat", "dog"], labels)

        added = self.expect(o, o.call("POST", "/v2/{project_id}/datasets/%s/data-annotations/samples" % dataset, body={
            "samples": [{"source": "https://images.example.com/sdk/%d.jpg" % i} for i in range(4)],
        }), 200)
        self.assertTrue(added["success"], added)
        samples = [r["sample_id"] for r in added["results"]]
        self.assertEqual(len(samples), 4, added)

        team = self.expect(o, o.call("POST", "/v2/{project_id}/workforces", body={"workforce_name": "sdk-" + RUN}), 201)
        team = team["workforce_id"]
        self.expect(o, o.call("POST", "/v2/{project_id}/workforces/%s/workers" % team,
                              body={"emails": E["TL_LABELER_EMAIL"], "role": 0}), 201)
        members = self.expect(o, o.call("GET", "/v2/{project_id}/workforces/%s/workers" % team), 200)
        self.assertEqual([w["email"] for w in members["workers"]], [E["TL_LABELER_EMAIL"]], members)

        task = self.expect(o, o.call("POST", "/v2/{project_id}/datasets/%s/workforce-tasks" % dataset, body={
            "task_name": "sdk-" + RUN, "repetition": 1,
            "workforces_config": {"workforces": [
                {"workforce_id": team, "workers": [{"email": E["TL_LABELER_EMAIL"]}]},
            ]},
        }), 200)
        task = task["task_id"]
        task_url = "/v2/{project_id}/datasets/%s/workforce-tasks/%s" % (dataset, task)
        self.expect(o, o.call("POST", task_url, body={}), 200)
        detail = self.expect(o, o.call("GET", task_url), 200)
        self.assertEqual(detail["status"], 1, "the task is running: %r" % detail)
        self.flow.update(dataset=dataset, samples=samples, task=task)

        # The labeler, with the labeler's own AK/SK: all four copies, then a batch of labels.
        mine = self.expect(lab, lab.call("GET", self.task_path(), query={"limit": 100}), 200)
        self.assertEqual(sorted(s["sample_id"] for s in mine["samples"]), sorted(samples), mine)
        self.assertEqual(len({s["worker_id"] for s in mine["samples"]}), 1, mine)
        put = self.expect(lab, lab.call("PUT", self.task_path(), body={"samples": [
            {"sample_id": samples[0], "labels": [{"name": "cat"}]},
            {"sample_id": samples[1], "labels": [{"name": "dog"}, {"name": "cat"}]},
        ]}), 200)
        self.assertIs(put["success"], True, put)
        self.assertEqual([(r["sample_id"], r["success"]) for r in put["results"]],
                         [(samples[0], True), (samples[1], True)], put)
        self.assertTrue(lab.last_request.header_params["Authorization"].startswith(
            "SDK-HMAC-SHA256 Access=%s, " % E["TL_LABELER_AK"]))

        one = self.expect(lab, lab.call("GET", self.task_path(samples[0])), 200)
        self.assertEqual([l["name"] for l in one["labels"]], ["cat"], one)
        mine = self.labels_by_sample(self.expect(lab, lab.call("GET", self.task_path(), query={"limit": 100}), 200))
        self.assertEqual(mine[samples[0]], ["cat"])
        self.assertEqual(mine[samples[1]], ["cat", "dog"])
        seen = self.labels_by_sample(self.expect(o, o.call("GET", self.task_path(), query={"limit": 100}), 200))
        self.assertEqual(seen[samples[1]], ["cat", "dog"], "the owner reads the labeler's labels")

    def test_2_the_same_flow_with_tokens_from_v3_auth_tokens(self):
        if "task" not in self.flow:
            self.fail("needs the started task of test_1, which failed")
        samples = self.flow["samples"]
        anonymous = self.close_later(client())

        # The owner's token, scoped by project name; the labeler's, scoped by project id.
        tokens = {}
        for who, scope in (("OWNER", {"name": E["TL_PROJECT_NAME"]}), ("LABELER", {"id": E["TL_PROJECT_ID"]})):
            body = token_body(E["TL_%s_EMAIL" % who], E["TL_%s_PASSWORD" % who], scope)
            reply = anonymous.call("POST", "/v3/auth/tokens", body=body)
            answer = self.expect(anonymous, reply, 201)
            self.assertNotIn("Authorization", anonymous.last_request.header_params)
            token = reply.headers.get("X-Subject-Token")
            self.assertTrue(token, "X-Subject-Token header: %r" % dict(reply.headers))
            self.assertTrue(answer["token"]["expires_at"], answer)
            self.assertEqual(answer["token"]["project"]["id"], E["TL_PROJECT_ID"], answer)
            self.assertEqual(answer["token"]["user"]["name"], E["TL_%s_EMAIL" % who], answer)
            urls = [e["url"] for c in answer["token"]["catalog"] if c["type"] == "modelarts" for e in c["endpoints"]]
            self.assertEqual([u.rstrip("/") for u in urls], [E["TL_BASE_URL"].rstrip("/")], answer)
            tokens[who] = token

        o = self.close_later(client(project_id=E["TL_PROJECT_ID"], token=tokens["OWNER"]))
        lab = self.close_later(client(project_id=E["TL_PROJECT_ID"], token=tokens["LABELER"]))
        listed = self.expect(o, o.call("GET", "/v2/{project_id}/datasets"), 200)
        self.assertIn(self.flow["dataset"], [d["dataset_id"] for d in listed["datasets"]])
        sent = o.last_request.header_params
        self.assertEqual(sent.get("X-Auth-Token"), tokens["OWNER"])
        self.assertNotIn("Authorization", sent, "token mode must not sign")
        self.assertNotIn("X-Sdk-Date", sent, "token mode must not sign")

        put = self.expect(lab, lab.call("PUT", self.task_path(), body={"samples": [
            {"sample_id": samples[2], "labels": [{"name": "dog"}]},
            {"sample_id": samples[3], "labels": [{"name": "cat"}]},
        ]}), 200)
        self.assertIs(put["success"], True, put)
        self.assertEqual([(r["sample_id"], r["success"]) for r in put["results"]],
                         [(samples[2], True), (samples[3], True)], put)
        self.assertNotIn("Authorization", lab.last_request.header_params)
        one = self.expect(lab, lab.call("GET", self.task_path(samples[2])), 200)
        self.assertEqual([l["name"] for l in one["labels"]], ["dog"], one)

        # Everything both ways wrote, read back by the owner with the token.
        seen = self.labels_by_sample(self.expect(o, o.call("GET", self.task_path(), query={"limit": 100}), 200))
        self.assertEqual([seen[s] for s in samples], [["cat"], ["cat", "dog"], ["dog"], ["cat"]], seen)


class Refusals(Case):
    DATASETS = "/v2/{project_id}/datasets"

    def test_a_signature_altered_after_signing_is_refused(self):
        o = self.close_later(owner())

        def flip_last_signature_digit(request):
            auth = request.header_params["Authorization"]
            request.header_params["Authorization"] = auth[:-1] + ("0" if auth[-1] != "0" else "1")

        self.expect(o, o.call("GET", self.DATASETS, tamper=flip_last_signature_digit), 401, SIGNATURE_INVALID)
        # The same request unaltered passes: it was the alteration that was refused.
        self.expect(o, o.call("GET", self.DATASETS), 200)

    def test_a_body_altered_after_signing_is_refused_and_not_applied(self):
        o = self.close_later(owner())
        name = "signed-" + RUN

        def change_one_byte(request):
            request.body = request.body.replace(name.encode(), ("sIgned-" + RUN).encode())

        body = {"dataset_name": name, "dataset_type": 0, "labels": [{"name": "cat"}]}
        self.expect(o, o.call("POST", self.DATASETS, body=body, tamper=change_one_byte), 401, SIGNATURE_INVALID)
        listed = self.expect(o, o.call("GET", self.DATASETS, query={"limit": 100}), 200)
        self.assertNotIn("sIgned-" + RUN, [d["dataset_name"] for d in listed["datasets"]])

    def test_a_malformed_authorization_header_is_refused(self):
        o = self.close_later(owner())

        def cut(request):
            request.header_params["Authorization"] = "SDK-HMAC-SHA256 Access=%s" % E["TL_OWNER_AK"]

        self.expect(o, o.call("GET", self.DATASETS, tamper=cut), 401, AUTH_HEADER_INVALID)

    def test_a_wrong_secret_key_or_an_unknown_access_key_is_refused(self):
        wrong_sk = self.close_later(owner(sk=E["TL_OWNER_SK"][::-1]))
        self.expect(wrong_sk, wrong_sk.call("GET", self.DATASETS), 401, SIGNATURE_INVALID)
        unknown = self.close_later(owner(ak="Z" * 20))
        self.expect(unknown, unknown.call("GET", self.DATASETS), 401, SIGNATURE_INVALID)

    def test_a_revoked_access_key_fails_on_the_next_request(self):
        o = self.close_later(owner())
        created = self.expect(o, o.call("POST", "/v3.0/OS-CREDENTIAL/credentials", body={
            "credential": {"email": E["TL_LABELER_EMAIL"], "description": "sdk test " + RUN},
        }), 201)["credential"]
        self.assertEqual(created["email"], E["TL_LABELER_EMAIL"], created)
        key = self.close_later(client(project_id=E["TL_PROJECT_ID"], ak=created["access"], sk=created["secret"]))
        self.expect(key, key.call("GET", "/v2/{project_id}/workforces/worker-tasks"), 200)
        shown = self.expect(o, o.call("GET", "/v3.0/OS-CREDENTIAL/credentials/" + created["access"]), 200)
        self.assertNotIn("secret", shown["credential"], "a listed key never shows its secret")
        listed = self.expect(o, o.call("GET", "/v3.0/OS-CREDENTIAL/credentials"), 200)
        self.assertIn(created["access"], [c["access"] for c in listed["credentials"]])

        self.expect(o, o.call("DELETE", "/v3.0/OS-CREDENTIAL/credentials/" + created["access"]), 204)
        self.expect(key, key.call("GET", "/v2/{project_id}/workforces/worker-tasks"), 401, SIGNATURE_INVALID)
        self.expect(o, o.call("GET", "/v3.0/OS-CREDENTIAL/credentials/" + created["access"]), 404)
        # The labeler's other key still works.
        lab = self.close_later(labeler())
        self.expect(lab, lab.call("GET", "/v2/{project_id}/workforces/worker-tasks"), 200)

    def test_another_project_is_refused_in_the_path_and_in_x_project_id(self):
        other = E["TL_OTHER_PROJECT_ID"]
        # The path names another project; X-Project-Id is the key's own.
        o = self.close_later(owner())
        self.expect(o, o.call("GET", "/v2/%s/datasets" % other), 403, PROJECT_MISMATCH)
        # No X-Project-Id at all: the path alone decides.
        bare = self.close_later(owner(project_id=None))
        self.expect(bare, bare.call("GET", "/v2/%s/datasets" % other), 403, PROJECT_MISMATCH)
        self.expect(bare, bare.call("GET", "/v2/%s/datasets" % E["TL_PROJECT_ID"]), 200)
        self.assertNotIn("X-Project-Id", bare.last_request.header_params)
        # The path is the key's project, but X-Project-Id (sent and signed by the SDK) is not.
        mismatch = self.close_later(owner(project_id=other))
        self.expect(mismatch, mismatch.call("GET", "/v2/%s/datasets" % E["TL_PROJECT_ID"]), 403, PROJECT_MISMATCH)
        self.assertEqual(mismatch.last_request.header_params["X-Project-Id"], other)
        # A key of the other project works there, and only there.
        theirs = self.close_later(client(project_id=other, ak=E["TL_OTHER_AK"], sk=E["TL_OTHER_SK"]))
        self.expect(theirs, theirs.call("GET", self.DATASETS), 200)
        theirs_here = self.close_later(client(project_id=E["TL_PROJECT_ID"], ak=E["TL_OTHER_AK"], sk=E["TL_OTHER_SK"]))
        self.expect(theirs_here, theirs_here.call("GET", self.DATASETS), 403, PROJECT_MISMATCH)

    def test_an_x_sdk_date_twenty_minutes_off_is_refused_ten_minutes_is_not(self):
        o = self.close_later(owner())
        for minutes in (-20, 20):
            with skewed_clock(timedelta(minutes=minutes)):
                reply = o.call("GET", self.DATASETS)
            stamped = datetime.strptime(o.last_request.header_params["X-Sdk-Date"], "%Y%m%dT%H%M%SZ")
            off = (stamped - datetime.utcnow()).total_seconds() / 60
            self.assertAlmostEqual(off, minutes, delta=1, msg="the SDK signed with the skewed clock")
            self.expect(o, reply, 401, SIGNATURE_INVALID, "X-Sdk-Date")
        for minutes in (-10, 10):
            with skewed_clock(timedelta(minutes=minutes)):
                self.expect(o, o.call("GET", self.DATASETS), 200)

    def test_temporary_credentials_need_their_security_token(self):
        o = self.close_later(owner())
        temp = self.expect(o, o.call("POST", "/v3.0/OS-CREDENTIAL/securitytokens", body={
            "auth": {"identity": {"methods": ["token"], "token": {"duration_seconds": 900}}},
        }), 201)["credential"]
        for field in ("access", "secret", "securitytoken", "expires_at"):
            self.assertTrue(temp.get(field), "credential.%s in %r" % (field, temp))
        ak, sk, st = temp["access"], temp["secret"], temp["securitytoken"]

        with_token = self.close_later(client(project_id=E["TL_PROJECT_ID"], ak=ak, sk=sk, security_token=st))
        self.expect(with_token, with_token.call("GET", self.DATASETS), 200)
        self.assertEqual(with_token.last_request.header_params["X-Security-Token"], st)
        self.assertIn("x-security-token", with_token.last_request.header_params["Authorization"])

        without = self.close_later(client(project_id=E["TL_PROJECT_ID"], ak=ak, sk=sk))
        self.expect(without, without.call("GET", self.DATASETS), 401, SIGNATURE_INVALID, "X-Security-Token")
        self.assertNotIn("X-Security-Token", without.last_request.header_params)
        # Change the last character: a token may itself end in "x" (one in 62).
        altered = st[:-1] + ("x" if st[-1] != "x" else "y")
        wrong = self.close_later(client(project_id=E["TL_PROJECT_ID"], ak=ak, sk=sk, security_token=altered))
        self.expect(wrong, wrong.call("GET", self.DATASETS), 401, SIGNATURE_INVALID, "X-Security-Token")
        permanent = self.close_later(owner(security_token=st))
        self.expect(permanent, permanent.call("GET", self.DATASETS), 401, SIGNATURE_INVALID, "X-Security-Token")

    def test_a_bad_token_or_another_projects_path_is_refused_in_token_mode(self):
        bad = self.close_later(client(project_id=E["TL_PROJECT_ID"], token="tl_" + "0" * 64))
        self.expect(bad, bad.call("GET", self.DATASETS), 401, TOKEN_INVALID)
        anonymous = self.close_later(client())
        reply = anonymous.call("POST", "/v3/auth/tokens", body=token_body(
            E["TL_OWNER_EMAIL"], E["TL_OWNER_PASSWORD"], {"id": E["TL_PROJECT_ID"]}))
        self.expect(anonymous, reply, 201)
        t = self.close_later(client(token=reply.headers["X-Subject-Token"]))
        self.expect(t, t.call("GET", "/v2/%s/datasets" % E["TL_OTHER_PROJECT_ID"]), 403, PROJECT_MISMATCH)
        self.expect(t, t.call("GET", "/v2/%s/datasets" % E["TL_PROJECT_ID"]), 200)

    def test_five_wrong_passwords_lock_the_user_even_against_the_right_one(self):
        anonymous = self.close_later(client())
        email, right = E["TL_LOCKOUT_EMAIL"], E["TL_LOCKOUT_PASSWORD"]
        scope = {"id": E["TL_PROJECT_ID"]}
        for attempt in range(1, 6):
            wrong = "wrong-%d-%s" % (attempt, right)
            reply = anonymous.call("POST", "/v3/auth/tokens", body=token_body(email, wrong, scope))
            with self.subTest(wrong_password=attempt):
                # The fifth wrong password in a row is the one that locks.
                self.expect(anonymous, reply, *((401, SIGN_IN_FAILED) if attempt < 5 else (429, USER_LOCKED)))
        reply = anonymous.call("POST", "/v3/auth/tokens", body=token_body(email, right, scope))
        self.expect(anonymous, reply, 429, USER_LOCKED, "locked")
        self.assertNotIn("X-Subject-Token", reply.headers)

def main():
    E.update(load_env())
    program = unittest.main(argv=[sys.argv[0], "-v"] + sys.argv[1:], exit=False)
    result = program.result
    if not result.wasSuccessful():
        sys.exit("test_sdk.py: %d failed, %d errors (of %d tests) against %s"
                 % (len(result.failures), len(result.errors), result.testsRun, E["TL_BASE_URL"]))


if __name__ == "__main__":
    main()
