"""satcfdi side of scripts/bench-cfdi.sh: the same workload as
`cargo run --release -p examples --example cfdi -- bench` (build with automatic totals, seal with the
SAT test CSD EKU9003173C9, serialize; and parse + cadena + verify of the sealed XML).

usage: python bench-cfdi.py build|verify N CONCEPTOS CSD_DIR
Prints `docs_per_sec=<number>` as its last line.
"""
import base64
import sys
import time
from datetime import datetime
from decimal import Decimal

from satcfdi.cfdi import CFDI
from satcfdi.create.cfd import cfdi40
from satcfdi.models import Signer
from satcfdi.models.certificate import Certificate

mode, n, k, csd_dir = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
signer = Signer.load(
    certificate=open(f"{csd_dir}/EKU9003173C9.cer", "rb").read(),
    key=open(f"{csd_dir}/EKU9003173C9.key", "rb").read(),
    password=open(f"{csd_dir}/password.txt", "rb").read(),
)


def invoice(folio):
    return cfdi40.Comprobante(
        emisor=cfdi40.Emisor(rfc="EKU9003173C9", nombre="ESCUELA KEMPER URGATE", regimen_fiscal="601"),
        lugar_expedicion="42501",
        receptor=cfdi40.Receptor(
            rfc="URE180429TM6", nombre="UNIVERSIDAD ROBOTICA ESPAÑOLA", domicilio_fiscal_receptor="86991",
            regimen_fiscal_receptor="601", uso_cfdi="G03",
        ),
        serie="B",
        folio=str(folio),
        forma_pago="01",
        metodo_pago="PUE",
        fecha=datetime(2026, 11, 20, 10, 0, 0),
        conceptos=[
            cfdi40.Concepto(
                clave_prod_serv="01010101",
                cantidad=Decimal(1 + i % 5),
                clave_unidad="H87",
                descripcion=f"Producto {i}",
                valor_unitario=Decimal(10050 + i) / 100,
                objeto_imp="02",
                impuestos=cfdi40.Impuestos(
                    traslados=cfdi40.Traslado(impuesto="002", tipo_factor="Tasa", tasa_o_cuota=Decimal("0.160000"))
                ),
            )
            for i in range(k)
        ],
    )


def build_one(i):
    inv = invoice(i)
    inv.sign(signer)
    return inv.xml_bytes()


nbytes = 0
def verify_one(xml):
    c = CFDI.from_string(xml)
    cadena = c.cadena_original()
    cert = Certificate.load_certificate(base64.b64decode(c["Certificado"]))
    ok = cert.verify_sha256(cadena.encode(), base64.b64decode(c["Sello"]))
    if not ok or cert.certificate_number != c["NoCertificado"]:
        raise SystemExit("satcfdi: seal did not verify")


wall0 = time.perf_counter()
if mode == "build":
    for i in range(min((n + 9) // 10, 50)):  # untimed warm-up, as on the Rust side
        build_one(i)
    start = time.process_time()
    for i in range(n):
        nbytes += len(build_one(i))
    secs = time.process_time() - start
elif mode == "verify":
    docs = [build_one(i) for i in range(min(n, 1000))]
    for xml in docs[:50]:
        verify_one(xml)
    wall0 = time.perf_counter()
    start = time.process_time()
    for i in range(n):
        xml = docs[i % len(docs)]
        verify_one(xml)
        nbytes += len(xml)
    secs = time.process_time() - start
else:
    raise SystemExit(f"unknown mode {mode}")
wall = time.perf_counter() - wall0
# CPU time (process_time), like `openssl speed` and the Rust side, so a loaded machine does not skew the ratio.
print(f"mode={mode} n={n} conceptos={k} bytes={nbytes} wall_seconds={wall:.3f} cpu_seconds={secs:.3f}")
print(f"docs_per_sec={n / secs:.1f}")
