//! Conductance-based neuron models declared as channel tables, and a fast fixed-step simulator.
//!
//! The models underneath every stage of spikepop: the stomatogastric neuron ([`STG`], Liu et al. 1998) and
//! the dopaminergic neuron ([`DA`], Qian et al. 2014), with the constants and equations of the reference
//! system. Each channel is declared once ([`model::Channel`]): the exact right-hand side
//! ([`Model::rhs`]), the simulator ([`sim`]) and the DIC sensitivities (crate `spikepop-dics`) all read
//! that declaration.
#![deny(missing_docs)]

pub mod cells;
pub mod da;
pub mod expr;
pub mod file;
pub mod model;
pub mod noise;
pub mod recipe;
pub mod registry;
pub mod sim;
pub mod stg;
pub mod vfn;

pub use da::DA;
pub use model::Model;
pub use stg::STG;

/// A built-in model by its short name (see [`registry`] for model files).
pub fn by_name(name: &str) -> Option<&'static Model> {
    registry::built_in(name)
}

/// Every built-in model.
pub const ALL: [&Model; 2] = registry::ALL;
