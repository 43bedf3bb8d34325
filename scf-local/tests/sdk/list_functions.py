"""ListFunctions through the official Python SDK, sent as a signed GET (`reqMethod = "GET"`:
parameters flattened into the query string), to check that form of request too.

    SCF_LOCAL_ENDPOINT=127.0.0.1:9100 TENCENTCLOUD_SECRETID=… TENCENTCLOUD_SECRETKEY=… \
        python list_functions.py SEARCH_KEY

With SCF_SIGN_METHOD=HmacSHA256 it signs the legacy way instead (which scf-local refuses).

Prints the response JSON; on an API error prints {"Error": {"Code", "Message"}} and exits 1.
"""
import json
import os
import sys

from tencentcloud.common import credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.scf.v20180416 import scf_client, models

try:
    cred = credential.Credential(os.environ["TENCENTCLOUD_SECRETID"], os.environ["TENCENTCLOUD_SECRETKEY"])
    httpProfile = HttpProfile()
    httpProfile.endpoint = os.environ["SCF_LOCAL_ENDPOINT"]
    httpProfile.scheme = "http"
    httpProfile.reqMethod = "GET"

    clientProfile = ClientProfile()
    clientProfile.httpProfile = httpProfile
    if os.environ.get("SCF_SIGN_METHOD"):  # the legacy HmacSHA1/HmacSHA256, refused by scf-local
        clientProfile.signMethod = os.environ["SCF_SIGN_METHOD"]
    client = scf_client.ScfClient(cred, "na-toronto", clientProfile)

    req = models.ListFunctionsRequest()
    req.from_json_string(json.dumps({"SearchKey": sys.argv[1], "Order": "ASC", "Orderby": "FunctionName", "Limit": 10}))
    resp = client.ListFunctions(req)
    print(resp.to_json_string())

except TencentCloudSDKException as err:
    print(json.dumps({"Error": {"Code": err.get_code(), "Message": err.get_message()}}))
    sys.exit(1)
