// One call through the official TencentCloud Node SDK (tencentcloud-sdk-nodejs-scf), with the
// client set up as its README shows and only the endpoint (and protocol) changed:
//
//     SCF_LOCAL_ENDPOINT=127.0.0.1:9100 SCF_LOCAL_PROTOCOL=http:// \
//     TENCENTCLOUD_SECRETID=… TENCENTCLOUD_SECRETKEY=… node call.js ACTION '{"FunctionName": …}'
//
// A ZipFile (or Code.ZipFile) written "@PATH" in the JSON is replaced by the base64 of that
// file. Prints the response JSON; on an API error prints {"Error": {"Code", "Message"}} and
// exits 1. Over https, Node trusts the CA bundle named by NODE_EXTRA_CA_CERTS.
const fs = require("fs");
const tencentcloud = require("tencentcloud-sdk-nodejs-scf");

const [action, json] = process.argv.slice(2);
const params = JSON.parse(json || "{}");
for (const holder of [params, params.Code || {}]) {
  if (typeof holder.ZipFile === "string" && holder.ZipFile.startsWith("@")) {
    holder.ZipFile = fs.readFileSync(holder.ZipFile.slice(1)).toString("base64");
  }
}

const client = new tencentcloud.scf.v20180416.Client({
  credential: {
    secretId: process.env.TENCENTCLOUD_SECRETID,
    secretKey: process.env.TENCENTCLOUD_SECRETKEY,
  },
  region: "ap-guangzhou",
  profile: {
    httpProfile: {
      endpoint: process.env.SCF_LOCAL_ENDPOINT, // the cloud: "scf.tencentcloudapi.com"
      protocol: process.env.SCF_LOCAL_PROTOCOL || "https://",
    },
  },
});

client[action](params).then(
  (response) => console.log(JSON.stringify(response)),
  (err) => {
    console.log(JSON.stringify({ Error: { Code: err.code || "NetworkError", Message: err.message } }));
    process.exit(1);
  },
);
