#!/usr/bin/env bash
# Usage: eval "$(scripts/sim-env.sh STATE_DIR)"
# Prints the environment variables that point the collection's modules at a running simulator
# (UCS endpoint, its CA and the seeded AK/SK credentials), as a user would export them, and
# writes STATE_DIR/demo-vars.json with the seeded fleet, project, VPC and subnet for the role.
set -euo pipefail
state_dir=$1
"${PYTHON:-python3}" - "$state_dir/simulator.json" <<'PY'
import json, shlex, sys
info = json.load(open(sys.argv[1]))
seed = info["seed"]
values = {
    "UCS_ENDPOINT": info["endpoint"],
    "UCS_CA_PATH": info["ca_path"],
    "HUAWEICLOUD_SDK_AK": seed["aksk"]["access_key"],
    "HUAWEICLOUD_SDK_SK": seed["aksk"]["secret_key"],
    "HUAWEICLOUD_SDK_DOMAIN_ID": seed["domain"]["id"],
}
net = seed["network"]
fleet = next(f for f in seed["fleets"] if f["federation"])
demo_vars = {
    "ucs_kubeconfig_fleet_id": fleet["id"],
    "ucs_kubeconfig_project_id": net["project_id"],
    "ucs_kubeconfig_vpc_id": net["vpc_id"],
    "ucs_kubeconfig_subnet_id": net["subnet_id"],
}
with open(sys.argv[1].rsplit("/", 1)[0] + "/demo-vars.json", "w") as handle:
    json.dump(demo_vars, handle)
for name, value in values.items():
    print(f"export {name}={shlex.quote(value)}")
PY
