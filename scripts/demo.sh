#!/usr/bin/env bash
# The main job, end to end on this machine: start the local UCS simulator, run the example
# playbook that obtains a federation kubeconfig and installs it, then prove it works with the
# real kubectl against the simulator's federation API server. It uses .venv: the newest
# ansible-core this machine can run (2.21 with Python 3.12 or later, else 2.19 on 3.11).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/bootstrap-venv.sh main
venv="${UCS_VENV:-$root/.venv}"
export PATH="$venv/bin:$PATH"
echo "demo: $("$venv/bin/ansible" --version | head -n 1) on $("$venv/bin/python" --version)"
ANSIBLE_COLLECTIONS_PATH=$(bash scripts/link-collection.sh)
export ANSIBLE_COLLECTIONS_PATH

state="$root/.tmp/demo"
rm -rf "$state"
mkdir -p "$state/home"
"$venv/bin/python" tests/simulator/ucs_simulator.py --port 0 --state-dir "$state/simulator" > "$state/simulator.log" 2>&1 &
sim_pid=$!
trap 'kill "$sim_pid" 2>/dev/null; wait "$sim_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
    [ -s "$state/simulator/simulator.json" ] && break
    kill -0 "$sim_pid" 2>/dev/null || { cat "$state/simulator.log"; exit 1; }
    sleep 0.1
done
echo "demo: UCS simulator listening at $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["endpoint"])' "$state/simulator/simulator.json")"

# Credentials reach the modules the way users provide them: environment variables.
eval "$(PYTHON="$venv/bin/python" bash scripts/sim-env.sh "$state/simulator")"
kubeconfig="$state/home/.kube/config"
ansible-playbook -i playbooks/inventory/demo.yml playbooks/federation_kubeconfig.yml \
    -e "@$state/simulator/demo-vars.json" -e "ucs_kubeconfig_path=$kubeconfig"
echo "demo: second run (must change nothing and make no API write call)"
ansible-playbook -i playbooks/inventory/demo.yml playbooks/federation_kubeconfig.yml \
    -e "@$state/simulator/demo-vars.json" -e "ucs_kubeconfig_path=$kubeconfig" | tee "$state/second-run.log"
grep -Eq 'changed=0 +unreachable=0 +failed=0' "$state/second-run.log"

echo "demo: kubectl --kubeconfig $kubeconfig version"
kubectl --kubeconfig "$kubeconfig" version --request-timeout=10s
echo "demo: the kubeconfig is mode $(stat -c %a "$kubeconfig"); it reaches the federation API server."
