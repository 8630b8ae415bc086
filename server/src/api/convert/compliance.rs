//! Conversions between `recert.v1` compliance messages and the domain.
