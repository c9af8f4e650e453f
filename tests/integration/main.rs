//! banwarden's one integration-test binary: the real binary driven like a
//! user would (`cli`), the linking rules checked against an independent
//! reference walk (`linking`), and the no-allocation promise (`alloc`).

mod alloc;
mod cli;
mod linking;
mod util;
