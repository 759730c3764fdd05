# Sourced by scripts/benchmark.sh and scripts/test.sh: finds, or installs, a Python that can `import redis`.
#   python_with_redis VENV LABEL   prints that Python's path on stdout, or nothing when there is none; says on stderr
#                                  (prefixed with LABEL) what it installed or why it could not.
# Tried in order: python3 itself; the venv VENV/ if it already has redis; a new venv VENV/ with `pip install redis`;
# `pip install --user redis` where venvs are unavailable.
python_with_redis() {
  local venv="$1" label="$2"
  if ! command -v python3 >/dev/null 2>&1; then
    echo "$label: python3 is not installed (apt-get install python3 python3-venv)" >&2
  elif python3 -c 'import redis' 2>/dev/null; then
    command -v python3
  elif [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import redis' 2>/dev/null; then
    echo "$PWD/$venv/bin/python"
  elif python3 -m venv "$venv" >/dev/null 2>&1 && "$venv/bin/python" -m pip install -q redis >&2; then
    echo "$label: installed the redis package into $venv/" >&2
    echo "$PWD/$venv/bin/python"
  elif python3 -m pip install -q --user redis >&2 && python3 -c 'import redis' 2>/dev/null; then
    echo "$label: installed the redis package with pip install --user" >&2
    command -v python3
  else
    echo "$label: could not install the redis package (pip install redis; on Debian, apt-get install python3-venv first)" >&2
  fi
}
