//! Conversions between `recert.v1` credential messages and the domain.
