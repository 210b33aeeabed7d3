# Drives the Python SDK authing 5.1.0 (installed by tests/it/official_sdks.rs, used unchanged)
# against the emulator: management token, Bearer, x-authing-userpool-id. Prints one JSON line.
import json
import os
import sys

sys.path.insert(0, os.environ["SDK_PYTHON_DIR"])
from authing import ManagementClient  # noqa: E402

client = ManagementClient(
    access_key_id=os.environ["AK"],
    access_key_secret=os.environ["SK"],
    host=os.environ["BASE"],
)
tag = os.environ["TAG"]


def check(step, reply):
    if not isinstance(reply, dict) or reply.get("statusCode") != 200:
        raise SystemExit("%s: %s" % (step, json.dumps(reply, ensure_ascii=False)))
    return reply.get("data")


out = {}
user = check("create_user", client.create_user(
    email="py-%s@example.com" % tag, phone="13500000002", phone_country_code="+86",
    username="py%s" % tag, name="Python User", gender="M", email_verified=True,
    password="py-pass-1", options={"passwordEncryptType": "none"}))
out["id"] = user["userId"]
batch = check("create_users_batch", client.create_users_batch(
    list=[{"email": "py2-%s@example.com" % tag}, {"username": "py3%s" % tag}]))
out["batch"] = [u["userId"] for u in batch]
out["total"] = check("list_users", client.list_users(
    options={"pagination": {"page": 1, "limit": 50}}))["totalCount"]
out["legacyTotal"] = check("list_users_legacy", client.list_users_legacy(page=1, limit=50))["totalCount"]
out["byId"] = check("get_user", client.get_user(user_id=user["userId"], with_custom_data=True))["email"]
out["batchRead"] = [u["userId"] for u in check("get_user_batch", client.get_user_batch(
    user_ids=[user["userId"]] + out["batch"]))]
out["exists"] = check("is_user_exists", client.is_user_exists(username="py%s" % tag))["exists"]
out["updated"] = check("update_user", client.update_user(
    user_id=user["userId"], nickname="Python", status="Suspended"))["status"]
out["mfa"] = check("get_user_mfa_info", client.get_user_mfa_info(user_id=user["userId"]))["totpStatus"]
check("add_whitelist", client.add_whitelist(type="PHONE", list=["13500000021", "13500000022"]))
out["whitelist"] = [e["value"] for e in check("list_whitelists", client.list_whitelists(type="PHONE"))]
client.delete_whitelist(type="PHONE", list=["13500000021"])
check("delete_users_batch", client.delete_users_batch(user_ids=out["batch"]))
print(json.dumps(out))
