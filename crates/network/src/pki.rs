//! MSP and TLS material.
