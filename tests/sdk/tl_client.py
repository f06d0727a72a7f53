"""teamlabel's own small client, built on the public classes of the official Huawei Cloud Python
SDK core (huaweicloudsdkcore): ClientBuilder/Client, BasicCredentials, HttpConfig, HttpHandler
and ExceptionHandler. Requests go through Client.do_http_request, the entry point every
generated service client uses, so with AK/SK they are signed by the SDK's own signer, unchanged.

    api = TeamlabelClient(base_url, project_id, ak=AK, sk=SK)            # AK/SK (SDK-HMAC-SHA256)
    api = TeamlabelClient(base_url, project_id, ak=AK, sk=SK, security_token=ST)  # temporary AK/SK
    api = TeamlabelClient(base_url, project_id, token=TOKEN)             # X-Auth-Token, not signed
    api = TeamlabelClient(base_url)                  # no credentials (only for POST /v3/auth/tokens)
    status, headers, body = api.call("GET", "/v2/{project_id}/datasets", query={"limit": 10})

`{project_id}` in a path is filled in by the SDK from the client's project id, which the SDK
also sends as X-Project-Id (leave project_id out to send neither).
"""

from collections import namedtuple
from types import SimpleNamespace

from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.client import Client, ClientBuilder
from huaweicloudsdkcore.exceptions.exception_handler import ExceptionHandler
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkcore.http.http_handler import HttpHandler
from huaweicloudsdkcore.sdk_response import SdkResponse
from huaweicloudsdkcore.signer.signer import Signer

Reply = namedtuple("Reply", "status headers body")


class AnyResponse(SdkResponse):
    """The response model of every call: the SDK fills in status_code and raw_content."""

    openapi_types = {}
    attribute_map = {}


class UnsignedCredentials(BasicCredentials):
    """Token mode: sends an IAM-style token as X-Auth-Token (or nothing, for the one call that
    needs no credentials, POST /v3/auth/tokens) instead of signing.

    Being BasicCredentials, it keeps the SDK's handling of the project id ({project_id} in
    paths, the X-Project-Id header); only the signature is left out.
    """

    def __init__(self, token=None, project_id=None):
        super().__init__(project_id=project_id)
        self.auth_token = token

    def process_sts(self, http_client):
        # Without AK/SK the SDK would go looking for credentials in the ECS metadata service.
        pass

    def sign_request(self, request):
        if self.project_id:
            request.header_params[self._X_PROJECT_ID] = self.project_id
        if self.auth_token is not None:
            request.header_params["X-Auth-Token"] = self.auth_token
        # What the signer does last: the final URI with the canonical query string.
        Signer.process_request_uri(request)
        return request


class _KeepErrorResponses(ExceptionHandler):
    """Answers of 400 and above are results to check here, not exceptions."""

    def handle_exception(self, request, response):
        pass


class TeamlabelClient:
    def __init__(self, base_url, project_id=None, ak=None, sk=None, security_token=None, token=None, timeout=30):
        if ak is None:
            credentials = UnsignedCredentials(token, project_id)
        else:
            credentials = BasicCredentials(ak, sk, project_id)
            if security_token is not None:
                credentials.with_security_token(security_token)
        config = HttpConfig.get_default_config()
        config.timeout = timeout
        handler = HttpHandler().add_request_handler(self._before_send).add_response_handler(self._on_response)
        self._client = (
            ClientBuilder(Client, "BasicCredentials,UnsignedCredentials")
            .with_http_config(config)
            .with_credentials(credentials)
            .with_endpoint(base_url)
            .with_http_handler(handler)
            .with_exception_handler(_KeepErrorResponses())
            .build()
        )
        # Where the SDK looks up response models by name, as a generated service client sets it.
        self._client.model_package = SimpleNamespace(AnyResponse=AnyResponse)
        self._tamper = None
        self._headers = None
        self.last_request = None

    def _before_send(self, request, **_):
        # Runs after signing, just before the request goes out.
        if self._tamper is not None:
            self._tamper(request)
        self.last_request = request

    def _on_response(self, response, **_):
        self._headers = response.headers

    def call(self, method, path, body=None, query=None, headers=None, tamper=None):
        """Sends one request; returns Reply(status, headers, body parsed as JSON, or None).

        `tamper(request)` may alter the signed SdkRequest (headers, body) before it is sent.
        """
        self._tamper, self._headers = tamper, None
        try:
            response = self._client.do_http_request(
                method=method,
                resource_path=path,
                query_params=dict(query) if query else None,
                header_params=dict(headers) if headers else None,
                body=body,
                response_type="AnyResponse",
            )
        finally:
            self._tamper = None
        try:
            parsed = response.to_json_object()
        except ValueError:
            parsed = None
        return Reply(response.status_code, self._headers, parsed)

    def close(self):
        self._client.close()
