use crate::internal::*;

#[derive(Debug, Clone, Hash, Eq, PartialEq)]
pub struct Const(Arc<Tensor>, Option<Box<dyn ExoticFact>>);

impl Const {
    pub fn new(tensor: Arc<Tensor>) -> TractResult<Const> {
        Self::new_with_opt_exotic_fact(tensor, None)
    }

    pub fn new_with_exotic_fact(
        tensor: Arc<Tensor>,
        fact: Box<dyn ExoticFact>,
    ) -> TractResult<Const> {
        Self::new_with_opt_exotic_fact(tensor, Some(fact))
    }

    pub fn new_with_opt_exotic_fact(
        tensor: Arc<Tensor>,
        fact: Option<Box<dyn ExoticFact>>,
    ) -> TractResult<Const> {
        ensure!(fact.is_some() || tensor.is_plain(), "Exotic tensor requires an exotic_fact");
        // A plain constant holds plain host bytes: storage that left them on a
        // device brings them back rather than pinning the buffer for the life
        // of the model. (Bytes shared with another constant are host bytes already.)
        let host = tensor.has_plain_ram_storage() || tensor.storage_as::<SharedBytes>().is_some();
        let tensor = if fact.is_none() && !host {
            Arc::new(Arc::unwrap_or_clone(tensor).into_plain_ram()?)
        } else {
            tensor
        };
        Ok(Const(tensor, fact))
    }

    pub fn val(&self) -> &Arc<Tensor> {
        &self.0
    }

    pub fn exotic_fact(&self) -> Option<&dyn ExoticFact> {
        self.1.as_deref()
    }
}

impl Op for Const {
    fn name(&self) -> StaticName {
        "Const".into()
    }

    op_as_typed_op!();
}

impl EvalOp for Const {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, _inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        Ok(tvec![Arc::clone(&self.0).into_tvalue()])
    }
}

impl TypedOp for Const {
    as_op!();

    fn output_facts(&self, _inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let fact = if self.1.is_some() {
            // Exotic const tensors (e.g. device-backed) may have storage that
            // cannot produce an ExoticFact (like DeviceTensor). Build the fact
            // from dt/shape and attach the explicit exotic_fact from self.1.
            let mut f = TypedFact::dt_shape(
                self.0.datum_type(),
                ShapeFact::from_dims(self.0.shape().iter().map(TDim::from)),
            );
            f.konst = Some(Arc::clone(&self.0));
            f.exotic_fact.clone_from(&self.1);
            f
        } else {
            // Plain tensor: TryFrom sets uniform, uniform_tdim, exotic_fact from storage.
            TypedFact::try_from(&self.0)?
        };
        Ok(tvec!(fact))
    }

    fn cost(&self, _inputs: &[&TypedFact]) -> TractResult<TVec<(Cost, TDim)>> {
        Ok(tvec!((Cost::Params(self.0.datum_type().unquantized()), self.0.len().into())))
    }

    fn set_symbols(
        &self,
        _source: &TypedModel,
        node: &TypedNode,
        target: &mut TypedModel,
        _mapping: &HashMap<OutletId, OutletId>,
        subs: &HashMap<Symbol, TDim>,
    ) -> TractResult<TVec<OutletId>> {
        let op = if self.0.datum_type() == TDim::datum_type() {
            let mut tensor = self.0.clone().into_tensor();
            for d in tensor.try_as_plain_ram_mut()?.as_slice_mut::<TDim>()? {
                *d = d.substitute_all(subs)?;
            }
            Const(tensor.into_arc_tensor(), self.1.clone())
        } else {
            self.clone()
        };
        target.wire_node(&node.name, op, &[])
    }

    fn change_axes(
        &self,
        _model: &TypedModel,
        _node: &TypedNode,
        io: InOut,
        change: &AxisOp,
    ) -> TractResult<Option<AxisChangeConsequence>> {
        anyhow::ensure!(io == InOut::Out(0));
        // Adding, removing or regrouping axes only changes the shape: the changed constant shares
        // the bytes of this one instead of copying them (see `SharedBytes`).
        let mut new_tensor = SharedBytes::view(&self.0);
        if change.change_tensor(&mut new_tensor, false).is_ok() {
            let mut sub = Const(new_tensor.into_arc_tensor(), None);
            if self.1.is_some() {
                let my_fact = self.output_facts(&[])?;
                let changed_fact = change.output_facts(&[&my_fact[0]])?;
                sub.1 = changed_fact[0].exotic_fact.clone();
            }
            Ok(Some(AxisChangeConsequence {
                substitute_op: Some(Box::new(sub)),
                wire_changes: tvec!((io, change.clone())),
            }))
        } else {
            Ok(None)
        }
    }
}

/// Plain bytes shared with another constant, for a constant that is the same data under another
/// shape. The axis pass changes constants' shapes one axis at a time (a 1x1 convolution's
/// `[O, I, 1, 1]` weights lose their two unit axes in two steps), and each step copied the whole
/// tensor: for PNASNet-5 large, 1.9 GB of copies (five and a half times its weights), about a
/// fifth of its preparation. Reads see the shared bytes; a write first takes a copy of its own.
#[derive(Debug, Clone)]
struct SharedBytes(Arc<Tensor>);

impl SharedBytes {
    /// `tensor`'s data under the same shape, without a copy where it is plain values in host
    /// memory. (Not for strings, blobs or symbolic dimensions: a tensor drops those values in
    /// place, so two tensors must not hold the same ones.)
    fn view(tensor: &Arc<Tensor>) -> Tensor {
        let owner = match tensor.storage_as::<SharedBytes>() {
            Some(shared) => &shared.0,
            None if tensor.datum_type().is_copy() && tensor.has_plain_ram_storage() => tensor,
            None => return tensor.clone().into_tensor(),
        };
        Tensor::from_storage(tensor.datum_type(), tensor.shape(), SharedBytes(owner.clone()))
    }

    fn plain(&self) -> &PlainStorage {
        self.0.as_plain_ram_storage().expect("SharedBytes wraps plain storage")
    }
}

impl PartialEq for SharedBytes {
    fn eq(&self, other: &Self) -> bool {
        self.plain().as_bytes() == other.plain().as_bytes()
    }
}
impl Eq for SharedBytes {}

impl std::fmt::Display for SharedBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SharedBytes({} bytes)", self.byte_len())
    }
}

impl TensorStorage for SharedBytes {
    fn byte_len(&self) -> usize {
        self.plain().as_bytes().len()
    }
    fn is_empty(&self) -> bool {
        self.byte_len() == 0
    }
    fn deep_clone(&self) -> Box<dyn TensorStorage> {
        Box::new(self.plain().clone())
    }
    fn as_plain_ram(&self) -> Option<&PlainStorage> {
        Some(self.plain())
    }
    fn as_plain_ram_mut(&mut self) -> Option<&mut PlainStorage> {
        // Copy on write: the other constants keep the bytes they had.
        Arc::make_mut(&mut self.0).as_plain_ram_storage_mut()
    }
    fn into_plain_ram(self: Box<Self>) -> Option<PlainStorage> {
        Arc::unwrap_or_clone(self.0).into_blob().ok().map(PlainStorage::from)
    }
    fn dyn_hash(&self, state: &mut dyn std::hash::Hasher) {
        state.write(self.plain().as_bytes())
    }
    fn exotic_fact(&self, _shape: &[usize]) -> TractResult<Option<Box<dyn ExoticFact>>> {
        Ok(None)
    }
    fn is_exotic(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod shared_bytes_tests {
    use super::*;

    /// The constant an axis change gives for the constant `c` of a model holding `tensor`.
    fn changed(tensor: Tensor, change: AxisOp) -> (Arc<Tensor>, Arc<Tensor>) {
        let mut model = TypedModel::default();
        let wire = model.add_const("c", tensor).unwrap();
        let node = model.node(wire.node);
        let op = node.op_as::<Const>().unwrap();
        let consequence = op.change_axes(&model, node, InOut::Out(0), &change).unwrap().unwrap();
        let sub = consequence.substitute_op.unwrap();
        (op.val().clone(), sub.downcast_ref::<Const>().unwrap().val().clone())
    }

    fn values<T: Datum + Clone>(t: &Tensor) -> Vec<T> {
        t.try_as_plain_ram().unwrap().as_slice::<T>().unwrap().to_vec()
    }

    fn weights() -> Tensor {
        Tensor::from_shape(&[2, 3, 1, 1], &[1f32, 2., 3., 4., 5., 6.]).unwrap()
    }

    #[test]
    fn removing_and_adding_unit_axes_shares_the_bytes() {
        for change in [AxisOp::Rm(3), AxisOp::Add(1), AxisOp::Reshape(2, tvec!(1.into(), 1.into()), tvec!(1.into()))] {
            let (before, after) = changed(weights(), change.clone());
            let mut shape: TVec<usize> = before.shape().into();
            change.change_shape_array(&mut shape, false).unwrap();
            assert_eq!(after.shape(), &*shape, "{change:?}");
            assert_eq!(values::<f32>(&after), values::<f32>(&before));
            assert_eq!(after.as_ptr::<f32>().unwrap(), before.as_ptr::<f32>().unwrap(), "{change:?} copied");
        }
    }

    #[test]
    fn a_second_change_shares_the_first_owner_instead_of_nesting() {
        let (original, once) = changed(weights(), AxisOp::Rm(3));
        let mut model = TypedModel::default();
        let wire = model.wire_node("c", Const::new(once.clone()).unwrap(), &[]).unwrap()[0];
        let node = model.node(wire.node);
        let op = node.op_as::<Const>().unwrap();
        let sub = op.change_axes(&model, node, InOut::Out(0), &AxisOp::Rm(2)).unwrap().unwrap();
        let twice = sub.substitute_op.unwrap().downcast_ref::<Const>().unwrap().val().clone();
        assert_eq!(twice.shape(), &[2, 3]);
        let owner = &twice.storage_as::<SharedBytes>().unwrap().0;
        assert!(Arc::ptr_eq(owner, &original), "shares the original, not the intermediate");
    }

    #[test]
    fn moving_an_axis_gives_the_moved_values() {
        let (_, after) = changed(weights(), AxisOp::Move(1, 0));
        assert_eq!(after.shape(), &[3, 2, 1, 1]);
        assert_eq!(values::<f32>(&after), [1f32, 4., 2., 5., 3., 6.]);
    }

    #[test]
    fn writing_to_a_shared_tensor_copies_it_first() {
        let (before, after) = changed(weights(), AxisOp::Rm(3));
        let mut mine = Arc::unwrap_or_clone(after);
        mine.try_as_plain_ram_mut().unwrap().as_slice_mut::<f32>().unwrap()[0] = 100.;
        assert_eq!(values::<f32>(&mine)[..2], [100., 2.]);
        assert_eq!(values::<f32>(&before)[0], 1., "the original kept its value");
    }

    #[test]
    fn strings_are_copied_not_shared() {
        let strings = tract_ndarray::arr2(&[["a".to_string()], ["b".to_string()]]).into_tensor();
        let (before, after) = changed(strings, AxisOp::Rm(1));
        assert!(after.storage_as::<SharedBytes>().is_none());
        assert_eq!(values::<String>(&after), values::<String>(&before));
    }
}
