//! The one module allowed to use `unsafe`: raw system calls that rustix does not wrap.
//! Every `unsafe` block carries a `// SAFETY:` comment saying why it is sound.
