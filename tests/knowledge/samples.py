"""Small real sample files for the loader tests, written on the fly."""

from __future__ import annotations

from pathlib import Path


def write_pdf(path: Path, lines: list[str], *, title: str = "") -> Path:
    """A minimal, valid one-page PDF with real text (Helvetica), built by hand so the test
    needs no PDF writer; pypdf extracts its text."""
    text_ops = ["BT", "/F1 12 Tf", "72 720 Td", "14 TL"]
    for line in lines:
        escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        text_ops.append(f"({escaped}) Tj T*")
    text_ops.append("ET")
    stream = "\n".join(text_ops).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    info = f"<< /Title ({title}) >>".encode("latin-1") if title else None
    if info:
        objects.append(info)
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    trailer = f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R"
    if info:
        trailer += f" /Info {len(objects)} 0 R"
    out += f"{trailer} >>\nstartxref\n{xref}\n%%EOF\n".encode()
    path.write_bytes(bytes(out))
    return path


def write_docx(path: Path) -> Path:
    import docx

    document = docx.Document()
    document.core_properties.title = "Warranty claims"
    document.core_properties.category = "internal"
    document.add_heading("Warranty claims", level=1)
    document.add_paragraph("How agents handle a warranty claim for a faulty appliance.")
    document.add_heading("Eligibility", level=2)
    document.add_paragraph("Two years from delivery", style="List Bullet")
    document.add_paragraph("Proof of purchase required", style="List Bullet")
    document.add_heading("Parts covered", level=2)
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "Part"
    table.cell(0, 1).text = "Covered"
    table.cell(1, 0).text = "Heating element"
    table.cell(1, 1).text = "Yes"
    document.save(str(path))
    return path


HTML = """<!doctype html><html lang="en"><head><title>Gift cards</title>
<meta name="visibility" content="public"></head>
<body><nav>Home | Shop</nav><main>
<h1>Gift cards</h1><p>Gift cards never expire and can be used online.</p>
<h2>Checking your balance</h2><p>Enter the card number on the balance page.</p>
<ul><li>Card number</li><li>PIN on the back</li></ul>
<h2>Fees</h2><table><tr><th>Amount</th><th>Fee</th></tr><tr><td>Any</td><td>None</td></tr></table>
</main><footer>Copyright</footer><script>track()</script></body></html>"""

MARKDOWN = """---
id: returns-policy
title: Returns policy
visibility: public
url: https://help.example.com/returns
---
# Returns policy

## How long do I have to return an item?

You have 30 days from delivery to return an item.

## What condition does the item need to be in?

- Unused
- In the original packaging
"""

FAQ_CSV = """question,answer,visibility
Do you ship to Norway?,"Yes, we ship to Norway within 5 working days.",public
How do agents override a shipping fee?,Use the fee override in the back office.,internal
"""

FAQ_JSON = (
    '{"faqs": [{"id": "pay-klarna", "question": "Can I pay with Klarna?", '
    '"answer": "Yes, Klarna is accepted at checkout."}]}'
)
