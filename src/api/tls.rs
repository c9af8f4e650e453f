//! STUB (helper A): rustls server configuration from PEM files, TLS 1.2+.
