//! SAT catalogs generated from catCFDI.xsd (owned by the cfdi-validate helper).
