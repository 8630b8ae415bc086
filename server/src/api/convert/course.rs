//! Conversions between `recert.v1` course messages and the domain.
