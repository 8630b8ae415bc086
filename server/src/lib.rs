//! recertd: the recert daemon. Stores holders, credentials and CE courses, knows each
//! certification's renewal rules, and answers over gRPC.

pub mod domain;
pub mod store;
