//! Offline validation with SAT CFDI40xxx codes (owned by the cfdi-validate helper).
