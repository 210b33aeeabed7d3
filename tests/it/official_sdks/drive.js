// Drives authing-node-sdk 4.0.1 (installed by tests/it/official_sdks.rs, used unchanged)
// against the emulator: every request is AK/SK-signed by the SDK itself. Prints one JSON line.
const { ManagementClient } = require(process.env.SDK_NODE_MODULES + "/authing-node-sdk");
const client = new ManagementClient({
  accessKeyId: process.env.AK,
  accessKeySecret: process.env.SK,
  host: process.env.BASE,
});
const tag = process.env.TAG;
function check(step, reply) {
  if (!reply || reply.statusCode !== 200) {
    throw new Error(`${step}: ${JSON.stringify(reply)}`);
  }
  return reply.data;
}
(async () => {
  const out = {};
  const user = check("createUser", await client.createUser({
    email: `node-${tag}@example.com`, phone: "13500000001", phoneCountryCode: "+86",
    username: `node${tag}`, name: "Node User", gender: "F", emailVerified: true,
    password: "node-pass-1", options: { passwordEncryptType: "none" },
  }));
  out.id = user.userId;
  const batch = check("createUsersBatch", await client.createUsersBatch({
    list: [{ email: `node2-${tag}@example.com` }, { username: `node3${tag}` }],
    options: { passwordEncryptType: "none" },
  }));
  out.batch = batch.map((u) => u.userId);
  const page = check("listUsers", await client.listUsers({ options: { pagination: { page: 1, limit: 50 } } }));
  out.total = page.totalCount;
  out.legacyTotal = check("listUsersLegacy", await client.listUsersLegacy({ page: 1, limit: 50 })).totalCount;
  out.byId = check("getUser", await client.getUser({ userId: user.userId })).email;
  out.byEmail = check("getUser email", await client.getUser({ userId: `NODE-${tag}@example.com`, userIdType: "email" })).userId;
  out.batchRead = check("getUserBatch", await client.getUserBatch({ userIds: [user.userId, ...out.batch] })).map((u) => u.userId);
  out.exists = check("isUserExists", await client.isUserExists({ email: `node-${tag}@example.com` })).exists;
  out.updated = check("updateUser", await client.updateUser({ userId: user.userId, nickname: "Node", status: "Suspended" })).status;
  out.mfa = check("getUserMfaInfo", await client.getUserMfaInfo({ userId: user.userId })).totpStatus;
  check("addWhitelist", await client.addWhitelist({ type: "PHONE", list: ["13500000011", "13500000012"] }));
  out.whitelist = check("listWhitelists", await client.listWhitelists({ type: "PHONE" })).map((e) => e.value);
  await client.deleteWhitelist({ type: "PHONE", list: ["13500000011"] });
  check("deleteUsersBatch", await client.deleteUsersBatch({ userIds: out.batch }));
  console.log(JSON.stringify(out));
})().catch((error) => { console.error(String(error)); process.exit(1); });
