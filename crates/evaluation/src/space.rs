//! Search spaces, declared as data next to each learner, and the parameter sets drawn from them.

use std::collections::BTreeMap;

use rand::Rng;
use serde::{Deserialize, Serialize};

/// One hyperparameter value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    /// A whole number (tree count, leaves, k …).
    Int(i64),
    /// A real number (learning rate, regularisation …).
    Float(f64),
    /// A named choice (kernel, loss, weighting …).
    Text(String),
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Int(v) => write!(f, "{v}"),
            Value::Float(v) => write!(f, "{}", format_float(*v)),
            Value::Text(v) => f.write_str(v),
        }
    }
}

fn format_float(v: f64) -> String {
    if v != 0.0 && (v.abs() < 1e-3 || v.abs() >= 1e5) {
        format!("{v:.3e}")
    } else {
        let text = format!("{v:.4}");
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// Where a hyperparameter's values come from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Domain {
    /// One of these values.
    Choice(Vec<Value>),
    /// A whole number in `low..=high`, sampled uniformly or log-uniformly; the grid takes
    /// `grid_points` values spread the same way.
    Int {
        /// Lowest value.
        low: i64,
        /// Highest value.
        high: i64,
        /// Whether to spread values on a log scale.
        log: bool,
    },
    /// A real number in `low..=high`, sampled uniformly or log-uniformly.
    Float {
        /// Lowest value.
        low: f64,
        /// Highest value.
        high: f64,
        /// Whether to spread values on a log scale.
        log: bool,
    },
}

impl Domain {
    /// `n` evenly spread values (on the log scale when `log`), for grid search.
    pub fn grid(&self, n: usize) -> Vec<Value> {
        let n = n.max(1);
        let spread = |low: f64, high: f64, log: bool| -> Vec<f64> {
            if n == 1 || low == high {
                return vec![low];
            }
            (0..n)
                .map(|i| {
                    let t = i as f64 / (n - 1) as f64;
                    if log {
                        (low.ln() + t * (high.ln() - low.ln())).exp()
                    } else {
                        low + t * (high - low)
                    }
                })
                .collect()
        };
        match self {
            Domain::Choice(values) => values.clone(),
            Domain::Int { low, high, log } => {
                let mut values: Vec<i64> = spread(*low as f64, *high as f64, *log)
                    .into_iter()
                    .map(|v| v.round() as i64)
                    .collect();
                values.dedup();
                values.into_iter().map(Value::Int).collect()
            }
            Domain::Float { low, high, log } => spread(*low, *high, *log)
                .into_iter()
                .map(Value::Float)
                .collect(),
        }
    }

    /// One value drawn at random.
    ///
    /// # Panics
    /// On an empty domain ([`SearchSpace::empty_domains`] names them): a search refuses such a
    /// space before it samples.
    pub fn sample(&self, rng: &mut impl Rng) -> Value {
        match self {
            Domain::Choice(values) => {
                assert!(!values.is_empty(), "sampling an empty choice");
                values[rng.gen_range(0..values.len())].clone()
            }
            Domain::Int { low, high, log } => {
                if *log && *low > 0 {
                    let v = rng.gen_range((*low as f64).ln()..=((*high as f64) + 0.999).ln());
                    Value::Int((v.exp().floor() as i64).clamp(*low, *high))
                } else {
                    Value::Int(rng.gen_range(*low..=*high))
                }
            }
            Domain::Float { low, high, log } => {
                if *log && *low > 0.0 {
                    Value::Float(rng.gen_range(low.ln()..=high.ln()).exp())
                } else {
                    Value::Float(rng.gen_range(*low..=*high))
                }
            }
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            Domain::Choice(values) => values.is_empty(),
            Domain::Int { low, high, .. } => low > high,
            Domain::Float { low, high, log } => {
                low > high || !low.is_finite() || !high.is_finite() || (*log && *low <= 0.0)
            }
        }
    }
}

/// A named set of hyperparameter values: one point of a search space.
pub type ParamSet = BTreeMap<String, Value>;

/// The hyperparameters of a learner and the domain of each.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SearchSpace {
    /// Hyperparameters in declaration order.
    pub params: Vec<(String, Domain)>,
    /// Settings the learner's `from_params` also accepts but that no search varies (a seed, a
    /// row cap): they are set by overriding, and never drawn, so declaring them changes no draw.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub settings: Vec<String>,
}

impl SearchSpace {
    /// An empty space.
    pub fn new() -> SearchSpace {
        SearchSpace::default()
    }

    /// Adds a choice among values.
    pub fn choice(mut self, name: &str, values: impl IntoIterator<Item = Value>) -> Self {
        self.params
            .push((name.into(), Domain::Choice(values.into_iter().collect())));
        self
    }

    /// Adds a whole number in `low..=high`.
    pub fn int(mut self, name: &str, low: i64, high: i64, log: bool) -> Self {
        self.params
            .push((name.into(), Domain::Int { low, high, log }));
        self
    }

    /// Adds a real number in `low..=high`.
    pub fn float(mut self, name: &str, low: f64, high: f64, log: bool) -> Self {
        self.params
            .push((name.into(), Domain::Float { low, high, log }));
        self
    }

    /// Declares a setting: a name `from_params` accepts that no search draws.
    pub fn setting(mut self, name: &str) -> Self {
        self.settings.push(name.into());
        self
    }

    /// Every name `from_params` accepts: the searched hyperparameters, then the settings.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.params
            .iter()
            .map(|(name, _)| name.as_str())
            .chain(self.settings.iter().map(String::as_str))
    }

    /// Checks that every name in `params` is declared here; an unknown name is an error that
    /// lists the known ones (a misspelt name must not fall back to a default silently).
    pub fn check_names(&self, params: &ParamSet) -> Result<(), ParamError> {
        match params
            .keys()
            .find(|name| !self.names().any(|known| known == name.as_str()))
        {
            None => Ok(()),
            Some(unknown) => Err(ParamError {
                name: unknown.clone(),
                problem: format!(
                    "not a parameter of this learner; known: {}",
                    self.names().collect::<Vec<_>>().join(", ")
                ),
            }),
        }
    }

    /// Every combination of `grid_points` values per numeric domain (all values of a choice).
    pub fn grid(&self, grid_points: usize) -> Vec<ParamSet> {
        let mut sets = vec![ParamSet::new()];
        for (name, domain) in &self.params {
            let values = domain.grid(grid_points);
            sets = sets
                .into_iter()
                .flat_map(|set| {
                    values.iter().map(move |value| {
                        let mut next = set.clone();
                        next.insert(name.clone(), value.clone());
                        next
                    })
                })
                .collect();
        }
        sets
    }

    /// `n` parameter sets drawn at random, without duplicates where the space allows.
    pub fn sample(&self, n: usize, rng: &mut impl Rng) -> Vec<ParamSet> {
        let mut sets: Vec<ParamSet> = Vec::with_capacity(n);
        let mut attempts = 0;
        while sets.len() < n && attempts < n * 50 {
            attempts += 1;
            let set: ParamSet = self
                .params
                .iter()
                .map(|(name, domain)| (name.clone(), domain.sample(rng)))
                .collect();
            if !sets.contains(&set) {
                sets.push(set);
            }
        }
        sets
    }

    /// Names of domains that cannot produce a value (empty choice, low > high …).
    pub fn empty_domains(&self) -> Vec<String> {
        self.params
            .iter()
            .filter(|(_, domain)| domain.is_empty())
            .map(|(name, _)| name.clone())
            .collect()
    }
}

/// Renders a parameter set as `a=1, b=0.1`.
pub fn describe(params: &ParamSet) -> String {
    params
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A parameter that is missing or of the wrong kind, for learners reading a [`ParamSet`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("hyperparameter `{name}`: {problem}")]
pub struct ParamError {
    /// The hyperparameter.
    pub name: String,
    /// What is wrong with it.
    pub problem: String,
}

/// Typed reads from a [`ParamSet`], with defaults for absent names.
pub trait ParamSetExt {
    /// A whole number, or `default` when absent.
    fn int_or(&self, name: &str, default: i64) -> Result<i64, ParamError>;
    /// A whole number that is at least 0 (a count, a size), or `default` when absent.
    fn usize_or(&self, name: &str, default: usize) -> Result<usize, ParamError>;
    /// A real number (a whole number is accepted), or `default` when absent.
    fn float_or(&self, name: &str, default: f64) -> Result<f64, ParamError>;
    /// A text choice, or `default` when absent.
    fn text_or<'a>(&'a self, name: &str, default: &'a str) -> Result<&'a str, ParamError>;
}

impl ParamSetExt for ParamSet {
    fn int_or(&self, name: &str, default: i64) -> Result<i64, ParamError> {
        match self.get(name) {
            None => Ok(default),
            Some(Value::Int(v)) => Ok(*v),
            Some(Value::Float(v)) if v.fract() == 0.0 => Ok(*v as i64),
            Some(other) => Err(ParamError {
                name: name.into(),
                problem: format!("expected a whole number, got {other}"),
            }),
        }
    }

    fn usize_or(&self, name: &str, default: usize) -> Result<usize, ParamError> {
        if !self.contains_key(name) {
            return Ok(default);
        }
        let value = self.int_or(name, 0)?;
        usize::try_from(value).map_err(|_| ParamError {
            name: name.into(),
            problem: format!("expected a whole number >= 0, got {value}"),
        })
    }

    fn float_or(&self, name: &str, default: f64) -> Result<f64, ParamError> {
        match self.get(name) {
            None => Ok(default),
            Some(Value::Float(v)) => Ok(*v),
            Some(Value::Int(v)) => Ok(*v as f64),
            Some(other) => Err(ParamError {
                name: name.into(),
                problem: format!("expected a number, got {other}"),
            }),
        }
    }

    fn text_or<'a>(&'a self, name: &str, default: &'a str) -> Result<&'a str, ParamError> {
        match self.get(name) {
            None => Ok(default),
            Some(Value::Text(v)) => Ok(v),
            Some(other) => Err(ParamError {
                name: name.into(),
                problem: format!("expected a name, got {other}"),
            }),
        }
    }
}

/// A learner whose hyperparameters can be searched: it declares its space and builds itself
/// from one point of it.
pub trait Tunable: Sized {
    /// The error of building from a bad parameter set.
    type Error: std::error::Error + Send + Sync + 'static;
    /// The space searched by default.
    fn search_space() -> SearchSpace;
    /// The learner configured by `params`; names absent from `params` keep their defaults, and a
    /// name that [`Tunable::search_space`] does not declare is an error
    /// ([`SearchSpace::check_names`]).
    fn from_params(params: &ParamSet) -> Result<Self, Self::Error>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn check_names_accepts_declared_names_and_settings_and_lists_the_known_on_a_typo() {
        let space = SearchSpace::new().int("k", 1, 3, false).setting("seed");
        let mut params = ParamSet::new();
        params.insert("k".into(), Value::Int(2));
        params.insert("seed".into(), Value::Int(7));
        assert!(space.check_names(&params).is_ok());
        params.insert("kk".into(), Value::Int(2));
        let error = space.check_names(&params).unwrap_err();
        assert_eq!(error.name, "kk");
        assert!(
            error.problem.contains("known: k, seed"),
            "{}",
            error.problem
        );
    }

    #[test]
    fn settings_are_never_drawn_or_gridded() {
        let plain = SearchSpace::new().int("k", 1, 9, false);
        let with_setting = plain.clone().setting("seed");
        let draw =
            |space: &SearchSpace| space.sample(5, &mut rand_chacha::ChaCha8Rng::seed_from_u64(3));
        assert_eq!(draw(&plain), draw(&with_setting));
        assert_eq!(plain.grid(3), with_setting.grid(3));
    }

    #[test]
    fn grid_is_the_cartesian_product() {
        let space = SearchSpace::new()
            .int("k", 1, 3, false)
            .choice("w", [Value::Text("a".into()), Value::Text("b".into())]);
        let grid = space.grid(3);
        assert_eq!(grid.len(), 6);
        assert!(grid
            .iter()
            .any(|s| s["k"] == Value::Int(2) && s["w"] == Value::Text("b".into())));
    }

    #[test]
    fn log_grid_spreads_geometrically() {
        let values = Domain::Float {
            low: 0.01,
            high: 1.0,
            log: true,
        }
        .grid(3);
        match values[1] {
            Value::Float(v) => assert!((v - 0.1).abs() < 1e-12),
            _ => panic!("expected a float"),
        }
    }

    #[test]
    fn sampling_is_seeded_and_stays_in_range() {
        let space = SearchSpace::new()
            .float("lr", 1e-3, 1e-1, true)
            .int("n", 5, 9, false);
        let draw = |seed| space.sample(20, &mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
        for set in draw(7) {
            let lr = set.float_or("lr", 0.0).unwrap();
            let n = set.int_or("n", 0).unwrap();
            assert!((1e-3..=1e-1).contains(&lr) && (5..=9).contains(&n));
        }
    }
}
