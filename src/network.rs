//! The network, loaded and optimised by tract, run on one input tensor.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use tract_onnx::prelude::*;
use tract_onnx::WithOnnx;
use tract_onnx::tract_core::ops::matmul::optimized::OptMatMul;
use tract_onnx::tract_core::plan::{eval, SimpleState};
use tract_onnx::tract_hir::infer::Factoid;

use crate::error::{Error, Result};
use crate::manifest::{Manifest, NetworkFormat};
use crate::network_bytes::NetworkContents;
use crate::nnef_stream::NnefStream;
use crate::onnx_stream::{model_with_weights, OnnxStream};
use crate::ops::use_own_ops;
use crate::preprocess::input_shape;
use crate::stored_weights::expand_stored_weights;

pub struct Network {
    plan: Arc<TypedRunnableModel>,
    input_shape: [usize; 4],
    outputs: usize,
}

pub(crate) fn describe(e: impl std::fmt::Display) -> String {
    // tract's errors are chains ("outer: cause"); the alternate form shows the whole chain.
    format!("{e:#}")
}

/// What a build changes about how the network runs (the threads build: src/wasm/mod.rs).
pub struct RunHooks {
    /// Called just before each operator, with the operator's name (the threads build sets
    /// tract's threading gate per kind of operator with it).
    pub before_op: fn(&str),
    /// Calls its argument, a whole network run, once, on the thread that should run it (the
    /// threads build: one of the pool's threads, so that each operator's split keeps that thread
    /// working instead of waking the pool and then the caller again).
    pub run_on: fn(&mut (dyn FnMut() + Send)),
}
static HOOKS: OnceLock<RunHooks> = OnceLock::new();

/// Installs the hooks for every network run from now on; once per process (a second is ignored).
pub fn set_run_hooks(hooks: RunHooks) {
    let _ = HOOKS.set(hooks);
}

/// Runs the hook, if any, for the node about to run (its name is only made for a hook: some
/// operators format theirs).
pub(crate) fn before_op(node: &TypedNode) {
    if let Some(hooks) = HOOKS.get() {
        (hooks.before_op)(&node.op().name())
    }
}

/// Runs `run` (network runs) where the hooks say, else here.
pub(crate) fn run_on<R: Send>(run: impl FnOnce() -> R + Send) -> R {
    let Some(hooks) = HOOKS.get() else { return run() };
    let mut run = Some(run);
    let mut result = None;
    (hooks.run_on)(&mut || {
        if let Some(run) = run.take() {
            result = Some(run());
        }
    });
    result.expect("RunHooks::run_on did not call its argument")
}

/// The tract release pinned in Cargo.toml (named in converted bundles' `source`).
pub const TRACT_VERSION: &str = "0.23.9";

impl Network {
    /// Load the network in the manifest's format (see `NetworkFormat`), optimise and plan.
    pub fn load(contents: NetworkContents, manifest: &Manifest) -> Result<Network> {
        let typed = match (manifest.network.format, contents) {
            (NetworkFormat::Onnx, NetworkContents::Bytes(bytes)) => typed_from_onnx(onnx_stream_of(bytes), manifest)?,
            (NetworkFormat::Onnx, NetworkContents::Onnx(stream)) => typed_from_onnx(*stream, manifest)?,
            (NetworkFormat::Onnx, NetworkContents::Nnef(_)) => {
                return Err(Error::Network("not a readable ONNX model (it is a tar archive)".into()))
            }
            (NetworkFormat::Nnef, NetworkContents::Onnx(_)) => {
                return Err(Error::Network("not a readable NNEF network (not a tar archive)".into()))
            }
            (NetworkFormat::Nnef, NetworkContents::Bytes(bytes)) => {
                let mut stream = NnefStream::default();
                stream.push(&bytes);
                drop(bytes);
                typed_from_nnef(stream, manifest)?
            }
            (NetworkFormat::Nnef, NetworkContents::Nnef(stream)) => typed_from_nnef(*stream, manifest)?,
        };
        Network::optimised(typed.into_decluttered().map_err(cannot_optimise)?, manifest)
    }

    /// tract's NNEF tar of the ONNX network decluttered for the manifest's input shape: what a
    /// bundle of format `nnef` ships (`nnef-bundle`). Loading it skips protobuf decoding and the
    /// translation of ONNX operators, and decluttering it again costs less than the first time.
    pub fn onnx_to_nnef(onnx: NetworkContents, manifest: &Manifest) -> Result<Vec<u8>> {
        let onnx = match onnx {
            NetworkContents::Bytes(bytes) => onnx_stream_of(bytes),
            NetworkContents::Onnx(stream) => *stream,
            NetworkContents::Nnef(_) => return Err(Error::Network("the network is not ONNX".into())),
        };
        let typed = typed_from_onnx(onnx, manifest)?.into_decluttered().map_err(cannot_optimise)?;
        let mut tar = vec![];
        // Deterministic: fixed timestamps, so the same ONNX gives the same bytes (and sha256).
        nnef_framework()
            .write_to_tar_with_config(&typed, &mut tar, false, true)
            .map_err(|e| Error::Network(format!("tract cannot write it as NNEF: {}", describe(e))))?;
        Ok(tar)
    }

    /// Code generation (tract's kernels) for a decluttered graph, then the plan.
    fn optimised(mut typed: TypedModel, manifest: &Manifest) -> Result<Network> {
        use_own_ops(&mut typed).map_err(cannot_optimise)?;
        typed.optimize().map_err(cannot_optimise)?;
        let outputs = typed
            .output_fact(0)
            .ok()
            .and_then(|f| f.shape.as_concrete().map(|s| s.iter().product::<usize>()))
            .ok_or_else(|| Error::Network("the output shape is not fixed".into()))?;
        if outputs != manifest.output.classes {
            return Err(Error::Network(format!(
                "the network has {outputs} outputs but the manifest says {} classes",
                manifest.output.classes
            )));
        }
        let plan = typed.into_runnable().map_err(|e| Error::Network(describe(e)))?;
        Ok(Network { plan, input_shape: input_shape(&manifest.input), outputs })
    }

    /// The optimised plan (for profiling tools).
    pub fn plan(&self) -> &Arc<TypedRunnableModel> {
        &self.plan
    }

    /// The matrix-product kernels the optimised plan runs, by name, with how many of its
    /// products may use each (a product holds one kernel per shape mode it can run in).
    pub fn matmul_kernels(&self) -> BTreeMap<String, usize> {
        let mut kernels = BTreeMap::new();
        for node in self.plan.model().nodes() {
            if let Some(product) = node.op_as::<OptMatMul>() {
                let names: BTreeSet<String> = product.mmm.iter().map(|k| k.name().to_string()).collect();
                for name in names {
                    *kernels.entry(name).or_default() += 1;
                }
            }
        }
        kernels
    }

    pub fn input_shape(&self) -> [usize; 4] {
        self.input_shape
    }

    /// Run on one preprocessed input (values in the manifest's layout); returns the raw outputs.
    pub fn run(&self, input: &[f32]) -> Result<Vec<f32>> {
        run_on(|| self.run_here(input))
    }

    fn run_here(&self, input: &[f32]) -> Result<Vec<f32>> {
        let tensor = Tensor::from_shape(&self.input_shape, input)
            .map_err(|e| Error::Inference(format!("bad input tensor: {}", describe(e))))?;
        let outputs = SimpleState::new(&self.plan)
            .and_then(|mut state| {
                state.run_plan_with_eval(tvec!(tensor.into_tvalue()), |ctx, op_state, node, inputs| {
                    before_op(node);
                    eval(ctx, op_state, node, inputs)
                })
            })
            .map_err(|e| Error::Inference(describe(e)))?;
        let view = outputs[0]
            .to_plain_array_view::<f32>()
            .map_err(|e| Error::Inference(format!("unexpected output type: {}", describe(e))))?;
        let values: Vec<f32> = view.iter().copied().collect();
        debug_assert_eq!(values.len(), self.outputs);
        Ok(values)
    }
}

fn nnef_framework() -> tract_nnef::framework::Nnef {
    // tract_core's operators are on by default; tract_onnx's extension covers the few ONNX
    // operators with no core equivalent.
    tract_nnef::nnef().with_onnx()
}

/// ONNX bytes read whole (a native file), decoded as a download is; the bytes are freed after.
fn onnx_stream_of(bytes: Vec<u8>) -> OnnxStream {
    let mut stream = OnnxStream::default();
    stream.push(&bytes);
    stream
}

/// Build the graph of a decoded ONNX file and fix the input shape from the manifest.
fn typed_from_onnx(onnx: OnnxStream, manifest: &Manifest) -> Result<TypedModel> {
    let shape = input_shape(&manifest.input);
    let not_onnx = |e: String| Error::Network(format!("not a readable ONNX model ({e})"));
    let mut decoded = onnx.finish().map_err(not_onnx)?;
    if let Some(graph) = decoded.proto.graph.as_mut() {
        expand_stored_weights(graph, &mut decoded.weights);
    }
    let mut model = model_with_weights(decoded).map_err(|e| not_onnx(describe(e)))?;
    check_one_input_one_output(model.inputs.len(), model.outputs.len())?;
    let declared = model.input_fact(0).map_err(|e| Error::Network(describe(e)))?.clone();
    if let Some(dims) = declared.shape.concretize() {
        let fits = dims.len() == 4
            && dims.iter().zip(shape).all(|(d, s)| d.as_i64().map(|d| d == s as i64).unwrap_or(true));
        if !fits {
            return Err(wrong_input_shape(format!("{:?}", declared.shape), manifest));
        }
    }
    model.set_input_fact(0, f32::fact(shape).into()).map_err(|e| Error::Network(describe(e)))?;
    model.into_typed().map_err(cannot_optimise)
}

/// Build the graph of a decoded NNEF tar.
///
/// `load` declutters it again in full although it was decluttered before being written: NNEF
/// states convolutions, pooling and padding with a batch axis and over all four axes, and only
/// tract's graph-wide axis pass takes them back to the form its fast kernels run. Measured in
/// Chromium with the per-operator passes only: EfficientNet-Lite0 ran 25% slower per image and PNASNet's
/// code generation took 1.2 s instead of 0.7 s.
fn typed_from_nnef(tar: NnefStream, manifest: &Manifest) -> Result<TypedModel> {
    let not_nnef = |e: String| Error::Network(format!("not a readable NNEF network ({e})"));
    let framework = nnef_framework();
    let proto = tar.finish(&framework).map_err(not_nnef)?;
    let typed = framework.model_for_proto_model(&proto).map_err(|e| not_nnef(describe(e)))?;
    check_one_input_one_output(typed.inputs.len(), typed.outputs.len())?;
    let declared = typed.input_fact(0).map_err(|e| Error::Network(describe(e)))?;
    let shape = input_shape(&manifest.input);
    if declared.datum_type != f32::datum_type() || declared.shape.as_concrete() != Some(&shape[..]) {
        return Err(wrong_input_shape(format!("{declared:?}"), manifest));
    }
    Ok(typed)
}

fn cannot_optimise(e: TractError) -> Error {
    Error::Network(format!("tract cannot optimise it: {}", describe(e)))
}

fn check_one_input_one_output(inputs: usize, outputs: usize) -> Result<()> {
    if inputs != 1 || outputs != 1 {
        return Err(Error::Network(format!(
            "a classifier has one input and one output; this network has {inputs} and {outputs}"
        )));
    }
    Ok(())
}

fn wrong_input_shape(declared: String, manifest: &Manifest) -> Error {
    let input = &manifest.input;
    Error::Network(format!(
        "the network's input shape is {declared} but the manifest describes {:?} ({}x{} {:?})",
        input_shape(input),
        input.width,
        input.height,
        input.layout
    ))
}
