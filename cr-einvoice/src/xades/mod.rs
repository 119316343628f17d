//! XAdES-EPES signing and verification (owned by the cr-xades helper).
