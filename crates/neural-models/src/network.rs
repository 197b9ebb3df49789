//! The network itself: variables in a `VarStore`, and the forward pass over them.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use tch::nn::{Init, VarStore};
use tch::{Kind, TchError, Tensor};

use crate::config::{Activation, MlpConfig, Normalisation, OutputHead};
use crate::error::NeuralError;

const NORM_EPS: f64 = 1e-5;
const BATCH_NORM_MOMENTUM: f64 = 0.1;

/// libtorch's random generator is process-wide. Every section that draws from it (initialisation,
/// dropout masks) holds this lock and reseeds the generator from its own fit's seed stream, so
/// concurrent fits stay reproducible.
static TORCH_RNG: Mutex<()> = Mutex::new(());

/// Holds the process-wide torch generator after seeding it with `seed`.
pub(crate) fn seeded_torch_rng(seed: u64) -> MutexGuard<'static, ()> {
    // A poisoned lock only means another fit panicked; the generator is reseeded anyway.
    let guard = TORCH_RNG
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    tch::manual_seed(i64::from_ne_bytes(seed.to_ne_bytes()));
    guard
}

/// How fresh variables are filled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Initialise {
    /// PyTorch's defaults: linear weights and biases uniform in ±1/√fan_in (draws from torch's
    /// generator, which the caller must hold seeded).
    Random,
    /// Zeros everywhere, for variables about to be overwritten by loaded weights.
    Zeros,
}

struct Norm {
    weight: Tensor,
    bias: Tensor,
    /// Running mean and variance, for batch normalisation only.
    running: Option<(Tensor, Tensor)>,
    width: i64,
}

struct Dense {
    weight: Tensor,
    bias: Tensor,
}

struct Hidden {
    dense: Dense,
    norm: Option<Norm>,
}

/// A multilayer perceptron whose variables live in a `VarStore`.
pub(crate) struct Network {
    hidden: Vec<Hidden>,
    output: Dense,
    activation: Activation,
    dropout: f64,
    output_head: OutputHead,
}

/// What a variable is, which decides its shape check and initial value.
#[derive(Clone, Copy)]
enum Role {
    /// A linear weight or bias with this fan-in.
    Linear { fan_in: usize },
    /// A normalisation scale (starts at 1).
    Scale,
    /// A normalisation shift (starts at 0).
    Shift,
    /// Batch normalisation's running mean (not trained).
    RunningMean,
    /// Batch normalisation's running variance (not trained).
    RunningVariance,
}

/// Where a network's variables come from.
enum Variables<'a> {
    /// Create them in a store.
    Create(&'a VarStore, Initialise),
    /// Use those already in a store, by name.
    Attach(HashMap<String, Tensor>),
}

impl Variables<'_> {
    fn get(&mut self, name: &str, shape: &[usize], role: Role) -> Result<Tensor, NeuralError> {
        let dims: Vec<i64> = shape.iter().map(|&d| d as i64).collect();
        match self {
            Variables::Create(vs, init) => {
                // tch forbids `.` inside a variable name; it joins sub-paths with `.`.
                let mut parts: Vec<&str> = name.split('.').collect();
                let leaf = parts.pop().unwrap_or(name);
                let path = parts.iter().fold(vs.root(), |path, part| path.sub(part));
                let fill = match (role, *init) {
                    (Role::Linear { fan_in }, Initialise::Random) => {
                        let bound = 1.0 / (fan_in as f64).sqrt();
                        Init::Uniform {
                            lo: -bound,
                            up: bound,
                        }
                    }
                    (Role::Scale | Role::RunningVariance, _) => Init::Const(1.0),
                    _ => Init::Const(0.0),
                };
                let var = match role {
                    Role::RunningMean => path.f_zeros_no_train(leaf, &dims)?,
                    Role::RunningVariance => path.f_ones_no_train(leaf, &dims)?,
                    _ => path.f_var(leaf, &dims, fill)?,
                };
                Ok(var)
            }
            Variables::Attach(existing) => {
                let var = existing
                    .remove(name)
                    .ok_or_else(|| NeuralError::InvalidData {
                        context: "network weights",
                        message: format!("variable `{name}` is missing"),
                    })?;
                if var.size() != dims {
                    return Err(NeuralError::InvalidData {
                        context: "network weights",
                        message: format!(
                            "variable `{name}` has shape {:?}, the architecture needs {dims:?}",
                            var.size()
                        ),
                    });
                }
                Ok(var)
            }
        }
    }

    fn dense(&mut self, name: &str, n_in: usize, n_out: usize) -> Result<Dense, NeuralError> {
        let role = Role::Linear { fan_in: n_in };
        Ok(Dense {
            weight: self.get(&format!("{name}.weight"), &[n_out, n_in], role)?,
            bias: self.get(&format!("{name}.bias"), &[n_out], role)?,
        })
    }

    fn norm(
        &mut self,
        name: &str,
        width: usize,
        normalisation: Normalisation,
    ) -> Result<Option<Norm>, NeuralError> {
        let running = match normalisation {
            Normalisation::None => return Ok(None),
            Normalisation::Layer => None,
            Normalisation::Batch => Some((
                self.get(
                    &format!("{name}.norm.running_mean"),
                    &[width],
                    Role::RunningMean,
                )?,
                self.get(
                    &format!("{name}.norm.running_var"),
                    &[width],
                    Role::RunningVariance,
                )?,
            )),
        };
        Ok(Some(Norm {
            weight: self.get(&format!("{name}.norm.weight"), &[width], Role::Scale)?,
            bias: self.get(&format!("{name}.norm.bias"), &[width], Role::Shift)?,
            running,
            width: width as i64,
        }))
    }

    fn network(
        &mut self,
        config: &MlpConfig,
        n_inputs: usize,
        n_outputs: usize,
    ) -> Result<Network, NeuralError> {
        let mut hidden = Vec::with_capacity(config.hidden.len());
        let mut width_in = n_inputs;
        for (index, &width) in config.hidden.iter().enumerate() {
            let name = format!("layer{index}");
            hidden.push(Hidden {
                dense: self.dense(&name, width_in, width)?,
                norm: self.norm(&name, width, config.normalisation)?,
            });
            width_in = width;
        }
        Ok(Network {
            hidden,
            output: self.dense("output", width_in, n_outputs)?,
            activation: config.activation,
            dropout: config.dropout,
            output_head: config.output_head,
        })
    }
}

impl Network {
    /// Creates the variables of `config` for `n_inputs` inputs and `n_outputs` outputs in `vs`;
    /// `config` has been checked (by a trainer's `ParamGuard`, or when its file was loaded).
    pub(crate) fn build(
        vs: &VarStore,
        config: &MlpConfig,
        n_inputs: usize,
        n_outputs: usize,
        init: Initialise,
    ) -> Result<Network, NeuralError> {
        Variables::Create(vs, init).network(config, n_inputs, n_outputs)
    }

    /// The network of `config` over the variables already in `vs`.
    pub(crate) fn attach(
        vs: &VarStore,
        config: &MlpConfig,
        n_inputs: usize,
        n_outputs: usize,
    ) -> Result<Network, NeuralError> {
        Variables::Attach(vs.variables()).network(config, n_inputs, n_outputs)
    }

    /// The network's output for `x` (`n × n_inputs`, float): `n × n_outputs`, after a sigmoid
    /// head but before clipping. `train` switches dropout and batch statistics on.
    pub(crate) fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor, TchError> {
        let mut h = x.shallow_clone();
        for layer in &self.hidden {
            h = h.f_linear(&layer.dense.weight, Some(&layer.dense.bias))?;
            if let Some(norm) = &layer.norm {
                h = match &norm.running {
                    Some((mean, var)) => h.f_batch_norm(
                        Some(&norm.weight),
                        Some(&norm.bias),
                        Some(mean),
                        Some(var),
                        train,
                        BATCH_NORM_MOMENTUM,
                        NORM_EPS,
                        false,
                    )?,
                    None => h.f_layer_norm(
                        [norm.width],
                        Some(&norm.weight),
                        Some(&norm.bias),
                        NORM_EPS,
                        false,
                    )?,
                };
            }
            h = match self.activation {
                Activation::Relu => h.f_relu()?,
                Activation::Gelu => h.f_gelu("none")?,
                Activation::Silu => h.f_silu()?,
                Activation::Tanh => h.f_tanh()?,
                Activation::LeakyRelu => h.f_leaky_relu()?,
            };
            if self.dropout > 0.0 && train {
                h = h.f_dropout(self.dropout, true)?;
            }
        }
        let out = h.f_linear(&self.output.weight, Some(&self.output.bias))?;
        match self.output_head {
            OutputHead::Sigmoid => out.f_sigmoid(),
            OutputHead::None | OutputHead::Clipped => Ok(out),
        }
    }

    /// The prediction-time output: eval mode, without gradients, clamped for a clipped head.
    pub(crate) fn infer(&self, x: &Tensor) -> Result<Tensor, TchError> {
        tch::no_grad(|| {
            let out = self.forward(x, false)?;
            match self.output_head {
                OutputHead::Clipped => out.f_clamp(0.0, 1.0),
                OutputHead::None | OutputHead::Sigmoid => Ok(out),
            }
        })
    }

    /// Whether a training forward pass draws from torch's random generator.
    pub(crate) fn draws_random(&self) -> bool {
        self.dropout > 0.0
    }
}

/// Deep copies of every variable (weights and running statistics), to restore later.
pub(crate) struct Snapshot(Vec<(String, Tensor)>);

impl Snapshot {
    /// Copies the current values of all variables in `vs`.
    pub(crate) fn take(vs: &VarStore) -> Result<Snapshot, TchError> {
        tch::no_grad(|| {
            vs.variables()
                .into_iter()
                .map(|(name, var)| Ok((name, var.f_detach_copy()?)))
                .collect::<Result<Vec<_>, TchError>>()
                .map(Snapshot)
        })
    }

    /// Writes the copied values back into the variables of `vs`.
    pub(crate) fn restore(&self, vs: &VarStore) -> Result<(), TchError> {
        let mut variables = vs.variables();
        tch::no_grad(|| {
            for (name, value) in &self.0 {
                if let Some(var) = variables.get_mut(name) {
                    var.f_copy_(value)?;
                }
            }
            Ok(())
        })
    }
}

/// Converts a row-major `f64` matrix to a float tensor on `device`.
pub(crate) fn to_tensor(
    x: ndarray::ArrayView2<'_, f64>,
    device: tch::Device,
) -> Result<Tensor, TchError> {
    let data: Vec<f32> = x.iter().map(|&v| v as f32).collect();
    Tensor::f_from_slice(&data)?
        .f_reshape([x.nrows() as i64, x.ncols() as i64])?
        .f_to_device(device)
}

/// Copies a float tensor of any shape back to the CPU as a flat `Vec<f64>`.
pub(crate) fn to_vec(t: &Tensor) -> Result<Vec<f64>, TchError> {
    let flat = t
        .f_to_device(tch::Device::Cpu)?
        .f_to_kind(Kind::Double)?
        .f_contiguous()?
        .f_reshape([-1])?;
    Vec::<f64>::try_from(&flat)
}
