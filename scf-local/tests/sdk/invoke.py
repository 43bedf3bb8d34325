"""Invoke through the official Python SDK, shaped like the walkthrough's second script.

Only the endpoint differs from the walkthrough (plain HTTP to scf-local serve on loopback);
the secret comes from the environment:

    SCF_LOCAL_ENDPOINT=127.0.0.1:9100 TENCENTCLOUD_SECRETID=… TENCENTCLOUD_SECRETKEY=… \
        python invoke.py FUNCTION_NAME [LogType]

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

function_name = sys.argv[1]
try:
    cred = credential.Credential(os.environ["TENCENTCLOUD_SECRETID"], os.environ["TENCENTCLOUD_SECRETKEY"])
    httpProfile = HttpProfile()
    httpProfile.endpoint = os.environ["SCF_LOCAL_ENDPOINT"]  # the walkthrough: "scf.tencentcloudapi.com"
    httpProfile.scheme = "http"  # scf-local speaks plain HTTP

    clientProfile = ClientProfile()
    clientProfile.httpProfile = httpProfile
    client = scf_client.ScfClient(cred, "na-toronto", clientProfile)

    req = models.InvokeRequest()
    # The walkthrough's parameters, byte for byte (its ClientContext has runs of spaces).
    params = '{\"FunctionName\":\"' + function_name + '\",\"ClientContext\":\"{   \\\"key1\\\": \\\"test value 1\\\",   \\\"key2\\\": \\\"test value 2\\\" }\"}'
    req.from_json_string(params)
    if len(sys.argv) > 2:
        req.LogType = sys.argv[2]

    resp = client.Invoke(req)
    print(resp.to_json_string())

except TencentCloudSDKException as err:
    print(json.dumps({"Error": {"Code": err.get_code(), "Message": err.get_message()}}))
    sys.exit(1)
