//! Conversions between `recert.v1` program messages and the domain.
