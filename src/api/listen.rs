//! STUB (helper A): listeners, bound or handed over by systemd (socket
//! activation), and the runtime thread that accepts on them.
