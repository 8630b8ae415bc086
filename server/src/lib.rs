//! recertd
