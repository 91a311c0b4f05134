//! The network, loaded and optimised by tract, run on one input tensor.

use prost::Message;
use tract_onnx::pb::ModelProto;
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::infer::Factoid;

use crate::error::{Error, Result};
use crate::manifest::Manifest;
use crate::preprocess::input_shape;
use crate::stored_weights::expand_stored_weights;

pub struct Network {
    plan: Arc<TypedRunnableModel>,
    input_shape: [usize; 4],
    outputs: usize,
}

fn describe(e: impl std::fmt::Display) -> String {
    // tract's errors are chains ("outer: cause"); the alternate form shows the whole chain.
    format!("{e:#}")
}

impl Network {
    /// Parse ONNX bytes, fix the input shape from the manifest, optimise and plan.
    ///
    /// Takes the bytes by value and frees each stage as soon as the next one exists (bytes ->
    /// protobuf -> graph): for a 350 MB network, at most two copies of the weights are alive.
    pub fn load_onnx(onnx: Vec<u8>, manifest: &Manifest) -> Result<Network> {
        let shape = input_shape(&manifest.input);
        let not_onnx = |e: String| Error::Network(format!("not a readable ONNX model ({e})"));
        let mut proto = ModelProto::decode(onnx.as_slice()).map_err(|e| not_onnx(e.to_string()))?;
        drop(onnx);
        if let Some(graph) = proto.graph.as_mut() {
            expand_stored_weights(graph);
        }
        let mut model = tract_onnx::onnx().model_for_proto_model(&proto).map_err(|e| not_onnx(describe(e)))?;
        drop(proto);
        if model.inputs.len() != 1 || model.outputs.len() != 1 {
            return Err(Error::Network(format!(
                "a classifier has one input and one output; this network has {} and {}",
                model.inputs.len(),
                model.outputs.len()
            )));
        }
        let declared = model.input_fact(0).map_err(|e| Error::Network(describe(e)))?.clone();
        if let Some(dims) = declared.shape.concretize() {
            let fits = dims.len() == 4
                && dims.iter().zip(shape).all(|(d, s)| d.as_i64().map(|d| d == s as i64).unwrap_or(true));
            if !fits {
                return Err(Error::Network(format!(
                    "the network's input shape is {} but the manifest describes {:?} ({}x{} {:?})",
                    format!("{:?}", declared.shape),
                    shape,
                    manifest.input.width,
                    manifest.input.height,
                    manifest.input.layout
                )));
            }
        }
        model
            .set_input_fact(0, f32::fact(shape).into())
            .map_err(|e| Error::Network(describe(e)))?;
        let typed = model
            .into_optimized()
            .map_err(|e| Error::Network(format!("tract cannot optimise it: {}", describe(e))))?;
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
        Ok(Network { plan, input_shape: shape, outputs })
    }

    /// The optimised plan (for profiling tools).
    pub fn plan(&self) -> &Arc<TypedRunnableModel> {
        &self.plan
    }

    pub fn input_shape(&self) -> [usize; 4] {
        self.input_shape
    }

    /// Run on one preprocessed input (values in the manifest's layout); returns the raw outputs.
    pub fn run(&self, input: &[f32]) -> Result<Vec<f32>> {
        let tensor = Tensor::from_shape(&self.input_shape, input)
            .map_err(|e| Error::Inference(format!("bad input tensor: {}", describe(e))))?;
        let outputs = self
            .plan
            .run(tvec!(tensor.into_tvalue()))
            .map_err(|e| Error::Inference(describe(e)))?;
        let view = outputs[0]
            .to_plain_array_view::<f32>()
            .map_err(|e| Error::Inference(format!("unexpected output type: {}", describe(e))))?;
        let values: Vec<f32> = view.iter().copied().collect();
        debug_assert_eq!(values.len(), self.outputs);
        Ok(values)
    }
}
