//! `Resources`: a vector of integer amounts (millicores, bytes, pod slots, extended resources).
//!
//! In files it is a Kubernetes resource list (`{"cpu": "500m", "memory": "1Gi",
//! "nvidia.com/gpu": "1"}`); in memory every amount is an exact integer so that sums and fit
//! checks are exact and deterministic.

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::quantity::{self, QuantityError};

/// Resource name of CPU (amounts in millicores).
pub const CPU: &str = "cpu";
/// Resource name of memory (amounts in bytes).
pub const MEMORY: &str = "memory";
/// Resource name of node-local ephemeral storage (amounts in bytes).
pub const EPHEMERAL_STORAGE: &str = "ephemeral-storage";
/// Resource name of the pod-count limit of a node.
pub const PODS: &str = "pods";
/// The GPU resource name VPSie GPU sizes expose.
pub const NVIDIA_GPU: &str = "nvidia.com/gpu";

/// Amounts of every resource kind. Missing entries are zero.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Resources {
    /// Millicores.
    pub cpu_milli: i64,
    /// Bytes.
    pub memory: i64,
    /// Bytes.
    pub ephemeral_storage: i64,
    /// Pod slots (only meaningful for node allocatable; a pod requests one implicitly).
    pub pods: i64,
    /// Extended resources (e.g. `nvidia.com/gpu`), sorted by name, zero amounts omitted.
    pub extended: Vec<(String, i64)>,
}

impl Resources {
    pub fn new(cpu_milli: i64, memory: i64) -> Self {
        Self {
            cpu_milli,
            memory,
            ..Self::default()
        }
    }

    pub fn is_zero(&self) -> bool {
        self.cpu_milli == 0
            && self.memory == 0
            && self.ephemeral_storage == 0
            && self.pods == 0
            && self.extended.is_empty()
    }

    /// Amount of an extended resource (zero when absent).
    pub fn extended(&self, name: &str) -> i64 {
        self.extended
            .binary_search_by(|(n, _)| n.as_str().cmp(name))
            .map(|i| self.extended[i].1)
            .unwrap_or(0)
    }

    /// Sets an extended resource, keeping the list sorted and free of zero entries.
    pub fn set_extended(&mut self, name: &str, amount: i64) {
        match self
            .extended
            .binary_search_by(|(n, _)| n.as_str().cmp(name))
        {
            Ok(i) if amount == 0 => {
                self.extended.remove(i);
            }
            Ok(i) => self.extended[i].1 = amount,
            Err(_) if amount == 0 => {}
            Err(i) => self.extended.insert(i, (name.to_string(), amount)),
        }
    }

    /// Amount of a resource by its Kubernetes name.
    pub fn get(&self, name: &str) -> i64 {
        match name {
            CPU => self.cpu_milli,
            MEMORY => self.memory,
            EPHEMERAL_STORAGE => self.ephemeral_storage,
            PODS => self.pods,
            other => self.extended(other),
        }
    }

    /// Sets a resource by its Kubernetes name.
    pub fn set(&mut self, name: &str, amount: i64) {
        match name {
            CPU => self.cpu_milli = amount,
            MEMORY => self.memory = amount,
            EPHEMERAL_STORAGE => self.ephemeral_storage = amount,
            PODS => self.pods = amount,
            other => self.set_extended(other, amount),
        }
    }

    /// Element-wise combination over the union of resource names.
    fn zip_with(&self, other: &Self, f: impl Fn(i64, i64) -> i64) -> Self {
        let mut out = Self {
            cpu_milli: f(self.cpu_milli, other.cpu_milli),
            memory: f(self.memory, other.memory),
            ephemeral_storage: f(self.ephemeral_storage, other.ephemeral_storage),
            pods: f(self.pods, other.pods),
            extended: Vec::new(),
        };
        // Both lists are sorted by name: merge them (the common case of no extended resources
        // allocates nothing; placement checks call this in their hot loop).
        let (mut i, mut j) = (0, 0);
        let (a, b) = (&self.extended, &other.extended);
        while i < a.len() || j < b.len() {
            let (name, x, y) = match (a.get(i), b.get(j)) {
                (Some((n, x)), Some((m, y))) if n == m => {
                    i += 1;
                    j += 1;
                    (n, *x, *y)
                }
                (Some((n, x)), Some((m, _))) if n < m => {
                    i += 1;
                    (n, *x, 0)
                }
                (Some((n, x)), None) => {
                    i += 1;
                    (n, *x, 0)
                }
                (_, Some((m, y))) => {
                    j += 1;
                    (m, 0, *y)
                }
                (None, None) => break,
            };
            let v = f(x, y);
            if v != 0 {
                out.extended.push((name.clone(), v));
            }
        }
        out
    }

    /// Saturating sum.
    pub fn add(&self, other: &Self) -> Self {
        self.zip_with(other, i64::saturating_add)
    }

    /// Saturating difference (may go negative: callers check `fits_in`).
    pub fn sub(&self, other: &Self) -> Self {
        self.zip_with(other, i64::saturating_sub)
    }

    /// Element-wise maximum (used for init containers).
    pub fn elementwise_max(&self, other: &Self) -> Self {
        self.zip_with(other, i64::max)
    }

    pub fn add_assign(&mut self, other: &Self) {
        self.cpu_milli = self.cpu_milli.saturating_add(other.cpu_milli);
        self.memory = self.memory.saturating_add(other.memory);
        self.ephemeral_storage = self
            .ephemeral_storage
            .saturating_add(other.ephemeral_storage);
        self.pods = self.pods.saturating_add(other.pods);
        for (name, amount) in &other.extended {
            let v = self.extended(name).saturating_add(*amount);
            self.set_extended(name, v);
        }
    }

    pub fn sub_assign(&mut self, other: &Self) {
        self.cpu_milli = self.cpu_milli.saturating_sub(other.cpu_milli);
        self.memory = self.memory.saturating_sub(other.memory);
        self.ephemeral_storage = self
            .ephemeral_storage
            .saturating_sub(other.ephemeral_storage);
        self.pods = self.pods.saturating_sub(other.pods);
        for (name, amount) in &other.extended {
            let v = self.extended(name).saturating_sub(*amount);
            self.set_extended(name, v);
        }
    }

    /// Every amount in `self` is at most the same amount in `capacity`.
    pub fn fits_in(&self, capacity: &Self) -> bool {
        self.cpu_milli <= capacity.cpu_milli
            && self.memory <= capacity.memory
            && self.ephemeral_storage <= capacity.ephemeral_storage
            && self.pods <= capacity.pods
            && self
                .extended
                .iter()
                .all(|(n, v)| *v <= capacity.extended(n))
    }

    /// Names of the resources where `self` exceeds `capacity` (for explanations).
    pub fn exceeding(&self, capacity: &Self) -> Vec<String> {
        let mut out = Vec::new();
        if self.cpu_milli > capacity.cpu_milli {
            out.push(CPU.to_string());
        }
        if self.memory > capacity.memory {
            out.push(MEMORY.to_string());
        }
        if self.ephemeral_storage > capacity.ephemeral_storage {
            out.push(EPHEMERAL_STORAGE.to_string());
        }
        if self.pods > capacity.pods {
            out.push(PODS.to_string());
        }
        for (n, v) in &self.extended {
            if *v > capacity.extended(n) {
                out.push(n.clone());
            }
        }
        out
    }

    /// Multiplies every amount by `n` (saturating).
    pub fn scaled(&self, n: i64) -> Self {
        Self {
            cpu_milli: self.cpu_milli.saturating_mul(n),
            memory: self.memory.saturating_mul(n),
            ephemeral_storage: self.ephemeral_storage.saturating_mul(n),
            pods: self.pods.saturating_mul(n),
            extended: self
                .extended
                .iter()
                .map(|(k, v)| (k.clone(), v.saturating_mul(n)))
                .collect(),
        }
    }

    /// Entries as (Kubernetes name, canonical quantity string), zero amounts omitted.
    pub fn to_quantity_map(&self) -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        if self.cpu_milli != 0 {
            m.insert(CPU.to_string(), quantity::format_milli(self.cpu_milli));
        }
        if self.memory != 0 {
            m.insert(MEMORY.to_string(), quantity::format_bytes(self.memory));
        }
        if self.ephemeral_storage != 0 {
            m.insert(
                EPHEMERAL_STORAGE.to_string(),
                quantity::format_bytes(self.ephemeral_storage),
            );
        }
        if self.pods != 0 {
            m.insert(PODS.to_string(), self.pods.to_string());
        }
        for (n, v) in &self.extended {
            m.insert(n.clone(), v.to_string());
        }
        m
    }

    /// Parses a Kubernetes resource list. Errors name the offending resource.
    pub fn from_quantity_map<'a>(
        entries: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, ResourceError> {
        let mut r = Self::default();
        for (name, value) in entries {
            let parsed = match name {
                CPU => quantity::parse_milli(value),
                _ => quantity::parse_units(value),
            }
            .map_err(|source| ResourceError {
                resource: name.to_string(),
                source,
            })?;
            if name.is_empty() {
                return Err(ResourceError {
                    resource: name.to_string(),
                    source: QuantityError::Syntax("empty resource name".to_string()),
                });
            }
            r.set(name, parsed);
        }
        Ok(r)
    }
}

/// A resource list entry that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("resource `{resource}`: {source}")]
pub struct ResourceError {
    pub resource: String,
    #[source]
    pub source: QuantityError,
}

impl fmt::Display for Resources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.to_quantity_map();
        if m.is_empty() {
            return f.write_str("{}");
        }
        let parts: Vec<String> = m.iter().map(|(k, v)| format!("{k}={v}")).collect();
        f.write_str(&parts.join(","))
    }
}

impl Serialize for Resources {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_quantity_map().serialize(serializer)
    }
}

/// A quantity in a file may be a string (`"500m"`) or a bare number (`2`, `0.5`).
#[derive(Deserialize)]
#[serde(untagged)]
enum QuantityText {
    Text(String),
    Int(i64),
    Float(f64),
}

impl<'de> Deserialize<'de> for Resources {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw: BTreeMap<String, QuantityText> = BTreeMap::deserialize(deserializer)?;
        let texts: Vec<(String, String)> = raw
            .into_iter()
            .map(|(k, v)| {
                let t = match v {
                    QuantityText::Text(s) => s,
                    QuantityText::Int(i) => i.to_string(),
                    QuantityText::Float(x) => x.to_string(),
                };
                (k, t)
            })
            .collect();
        Self::from_quantity_map(texts.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Resources {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ResourceList".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A Kubernetes resource list: resource name (cpu, memory, ephemeral-storage, pods, or an extended resource such as nvidia.com/gpu) to quantity (\"500m\", \"1.5\", \"2Gi\", \"1e3\").",
            "type": "object",
            "additionalProperties": {
                "anyOf": [
                    { "type": "string", "pattern": "^[+]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][-+]?[0-9]+|[numkMGTPE]|[KMGTPE]i)?$" },
                    { "type": "number", "minimum": 0 }
                ]
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_serializes_a_resource_list() {
        let r: Resources = serde_json::from_str(
            r#"{"cpu":"1500m","memory":"2Gi","nvidia.com/gpu":1,"pods":"110"}"#,
        )
        .unwrap();
        assert_eq!(r.cpu_milli, 1500);
        assert_eq!(r.memory, 2 << 30);
        assert_eq!(r.extended(NVIDIA_GPU), 1);
        assert_eq!(r.pods, 110);
        let back = serde_json::to_string(&r).unwrap();
        assert_eq!(
            back,
            r#"{"cpu":"1500m","memory":"2Gi","nvidia.com/gpu":"1","pods":"110"}"#
        );
    }

    #[test]
    fn bad_quantity_names_the_resource() {
        let err = serde_json::from_str::<Resources>(r#"{"memory":"12Qi"}"#).unwrap_err();
        assert!(err.to_string().contains("resource `memory`"), "{err}");
    }

    #[test]
    fn arithmetic_over_extended_resources() {
        let mut a = Resources::new(1000, 100);
        a.set_extended("x/y", 2);
        let b = Resources::new(500, 50);
        assert_eq!(a.sub(&b).extended("x/y"), 2);
        assert!(!a.fits_in(&b));
        assert_eq!(a.exceeding(&b), vec!["cpu", "memory", "x/y"]);
        let mut c = a.clone();
        c.sub_assign(&a);
        assert!(c.is_zero());
    }

    #[test]
    fn element_wise_operations_merge_extended_names_in_order() {
        let mut a = Resources::new(0, 0);
        a.set_extended("b", 2);
        a.set_extended("d", 4);
        let mut b = Resources::new(0, 0);
        b.set_extended("a", 1);
        b.set_extended("b", 2);
        b.set_extended("c", 3);
        let sum = a.add(&b);
        let names: Vec<(&str, i64)> = sum.extended.iter().map(|(n, v)| (n.as_str(), *v)).collect();
        assert_eq!(names, vec![("a", 1), ("b", 4), ("c", 3), ("d", 4)]);
        let diff = a.sub(&a);
        assert!(diff.extended.is_empty(), "zero amounts are dropped");
        assert_eq!(b.elementwise_max(&a).extended("d"), 4);
    }
}
