"""CreateFunction through the official Python SDK, shaped like the walkthrough's first script.

Only the endpoint differs from the walkthrough (plain HTTP to scf-local serve on loopback),
and the secret and the zip come from the environment and the command line:

    SCF_LOCAL_ENDPOINT=127.0.0.1:9100 TENCENTCLOUD_SECRETID=… TENCENTCLOUD_SECRETKEY=… \
        python create_function.py FUNCTION_NAME demo.zip

Prints the response JSON; on an API error prints {"Error": {"Code", "Message"}} and exits 1.
"""
import json
import os
import sys
from base64 import b64encode

from tencentcloud.common import credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.scf.v20180416 import scf_client, models

function_name, zip_path = sys.argv[1], sys.argv[2]
try:
    cred = credential.Credential(os.environ["TENCENTCLOUD_SECRETID"], os.environ["TENCENTCLOUD_SECRETKEY"])
    httpProfile = HttpProfile()
    httpProfile.endpoint = os.environ["SCF_LOCAL_ENDPOINT"]  # the walkthrough: "scf.tencentcloudapi.com"
    httpProfile.scheme = "http"  # scf-local speaks plain HTTP

    clientProfile = ClientProfile()
    clientProfile.httpProfile = httpProfile
    client = scf_client.ScfClient(cred, "na-toronto", clientProfile)

    req = models.CreateFunctionRequest()
    with open(zip_path, "rb") as f:
        code = f.read()

    params = json.dumps({
        "FunctionName": function_name,
        "Code": {"ZipFile": b64encode(code).decode()},
        "Timeout": 3,
        "Runtime": "CustomRuntime",
        "InitTimeout": 3,
    })
    req.from_json_string(params)

    resp = client.CreateFunction(req)
    print(resp.to_json_string())

except TencentCloudSDKException as err:
    print(json.dumps({"Error": {"Code": err.get_code(), "Message": err.get_message()}}))
    sys.exit(1)
