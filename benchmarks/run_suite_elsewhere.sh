#!/usr/bin/env bash
# Run the test suite on another machine's own Python and torch, offline (e.g. a lent GPU machine
# with Python 3.12 and torch 2.11), without changing that machine's environment.
#
# Here (with network):   make wheels-for-py312     # wheels of what such a machine lacks -> .whl/
# There (repo root, with .whl/ carried beside it):
#   bash benchmarks/run_suite_elsewhere.sh [pytest args]     e.g. -x, tests/ssl_core
#
# Makes a virtual environment ($VENV, default /tmp/mtneuro-venv) that sees the machine's packages
# through a .pth file (so its torch, numpy, ... are used as they are), installs the wheels of
# $WHEELS (default .whl/; they win over the machine's copies) and this tree, editable, with no
# dependencies and no download, then runs pytest with that environment's python. Subprocesses the
# tests start use the same interpreter, so they see everything too. Prints the versions it ran with
# and pytest's summary; with $OUT set, also writes $OUT/suite.log.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=${VENV:-/tmp/mtneuro-venv}
WHEELS=${WHEELS:-.whl}

rm -rf "$VENV"
"$PYTHON" -m venv --without-pip "$VENV"
PY="$VENV/bin/python"
purelib=$("$PY" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
# addsitedir, not plain paths: .pth files among the machine's packages take effect too
"$PYTHON" -c 'import os, sys; print("\n".join(f"import site; site.addsitedir({p!r})" for p in sys.path[1:] if os.path.isdir(p)))' \
    > "$purelib/_machine_packages.pth"
pip=("$PY" -m pip install -q --no-index --no-deps --ignore-installed --no-compile --disable-pip-version-check)
if compgen -G "$WHEELS/*.whl" >/dev/null; then
    "${pip[@]}" "$WHEELS"/*.whl
fi
# --no-build-isolation: setuptools (>= 77) comes from $WHEELS or the machine; nothing is downloaded.
"${pip[@]}" --no-build-isolation -e .

"$PY" - <<'EOF'
import platform, torch, mtneuro
from mtneuro.extras import installed_extras
cuda = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA device"
print(f"python {platform.python_version()}, torch {torch.__version__} ({cuda}), "
      f"mtneuro {mtneuro.__version__} from {mtneuro.__file__}, extras: {', '.join(installed_extras()) or 'none'}")
EOF
export PYTHONUNBUFFERED=1
if [[ -n "${OUT:-}" ]]; then
    "$PY" -m pytest -q -p no:cacheprovider "$@" 2>&1 | tee "$OUT/suite.log"
    exit "${PIPESTATUS[0]}"
fi
exec "$PY" -m pytest -q -p no:cacheprovider "$@"
