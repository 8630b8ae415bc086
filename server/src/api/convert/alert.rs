//! Conversions between `recert.v1` alert messages and the domain.
