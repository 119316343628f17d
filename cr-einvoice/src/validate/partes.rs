//! Emisor / Receptor: identification, names, ubicación, teléfono, correos.

use super::{At, PathArg, Rule, V};
use crate::model::{Identificacion, Parte};
use crate::revision::SchemaRevision;
use crate::shape::Occ;

impl V<'_> {
    pub(super) fn identificacion(&mut self, path: impl PathArg + Copy, id: &Identificacion) {
        let n = &id.numero;
        let len = n.chars().count();
        match self.rev {
            SchemaRevision::V2024 => {
                if !n.bytes().all(|b| b.is_ascii_digit()) || !(9..=20).contains(&len) {
                    self.r.err(
                        Rule::Identificacion,
                        path,
                        format!("{n:?}: the 2024 schemas require 9 to 20 digits"),
                    );
                    return;
                }
            }
            SchemaRevision::V2026 => {
                if !n.chars().all(|c| c.is_ascii_alphanumeric()) || !(1..=20).contains(&len) {
                    self.r.err(
                        Rule::Identificacion,
                        path,
                        format!("{n:?}: 1 to 20 letters or digits expected"),
                    );
                    return;
                }
            }
        }
        if let Some(lengths) = id.tipo.lengths()
            && !lengths.contains(&len)
        {
            self.r.err(
                Rule::Identificacion,
                path,
                format!(
                    "tipo {} requires {lengths:?} characters, found {len}",
                    id.tipo.code()
                ),
            );
        }
    }

    pub(super) fn parte(&mut self, name: &str, p: &Parte, emisor: bool) {
        let s = self.s;
        self.chars(At(name, "Nombre"), &p.nombre);
        match &p.identificacion {
            Some(id) => self.identificacion(At(name, "Identificacion/Numero"), id),
            None => {
                let occ = if emisor {
                    Occ::Required
                } else {
                    s.receptor_identificacion
                };
                self.occ(At(name, "Identificacion"), occ, false);
            }
        }
        let full = s.full_parties;
        if emisor {
            self.not_allowed(
                At(name, "Registrofiscal8707"),
                !full && p.registro_fiscal_8707.is_some(),
            );
            self.opt_chars(
                At(name, "Registrofiscal8707"),
                p.registro_fiscal_8707.as_deref(),
            );
        } else {
            self.not_allowed(
                At(name, "Registrofiscal8707"),
                p.registro_fiscal_8707.is_some(),
            );
        }
        self.not_allowed(
            At(name, "NombreComercial"),
            !full && p.nombre_comercial.is_some(),
        );
        self.opt_chars(At(name, "NombreComercial"), p.nombre_comercial.as_deref());
        let ubic = if emisor {
            s.emisor_ubicacion
        } else if s.receptor_ubicacion {
            Occ::Optional
        } else {
            Occ::Absent
        };
        self.occ(At(name, "Ubicacion"), ubic, p.ubicacion.is_some());
        if let Some(u) = &p.ubicacion {
            if !(1..=9).contains(&u.provincia)
                || !(1..=99).contains(&u.canton)
                || !(1..=99).contains(&u.distrito)
            {
                self.r.err(
                    Rule::Code,
                    format!("{name}/Ubicacion"),
                    "provincia 1–9, cantón and distrito 01–99",
                );
            }
            self.opt_chars(At(name, "Ubicacion/Barrio"), u.barrio.as_deref());
            self.chars(At(name, "Ubicacion/OtrasSenas"), &u.otras_senas);
        }
        let ose = if emisor {
            s.emisor_otras_senas_extranjero
        } else {
            s.receptor_otras_senas_extranjero
        };
        self.not_allowed(
            At(name, "OtrasSenasExtranjero"),
            !ose && p.otras_senas_extranjero.is_some(),
        );
        self.opt_chars(
            At(name, "OtrasSenasExtranjero"),
            p.otras_senas_extranjero.as_deref(),
        );
        self.not_allowed(At(name, "Telefono"), !full && p.telefono.is_some());
        if let Some(t) = &p.telefono
            && (t.codigo_pais > 999 || t.numero < 10_000_000)
        {
            self.r.err(
                Rule::Code,
                format!("{name}/Telefono"),
                "CodigoPais ≤ 3 digits, NumTelefono ≥ 8 digits",
            );
        }
        let (min, max) = if emisor {
            (s.emisor_correos_min, 4)
        } else {
            (0, 1)
        };
        self.count(At(name, "CorreoElectronico"), p.correos.len(), min, max);
        for c in &p.correos {
            self.chars(At(name, "CorreoElectronico"), c);
        }
    }
}
