//! Conversions between `recert.v1` holder messages and the domain.
