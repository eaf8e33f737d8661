//! The binary's commands beyond `serve`, `validate`, `export` and `synth`: API tokens and the
//! state store. They use the library like any other client.

pub mod state;
