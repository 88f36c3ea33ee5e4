"""A short HTML page about one delete receipt, for the person whose data it was: what was deleted, whether
the signature checked out, and how anyone can check it again without trusting us."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from dsr.layout import receipt_path


def render_summary(receipt: Mapping[str, Any], *, valid: bool, reason: str, keys_source: str) -> str:
    """The page: verdict first, then the counts per category, then how to verify it independently."""
    esc = html.escape
    request_id = str(receipt.get("requestId", "?"))
    signature = receipt.get("signature") if isinstance(receipt.get("signature"), Mapping) else {}
    results = receipt.get("results") if isinstance(receipt.get("results"), Mapping) else {}
    verification = receipt.get("verification") if isinstance(receipt.get("verification"), Mapping) else {}
    verdict = "Signature valid" if valid else "Signature NOT valid"
    colour = "#1a7f37" if valid else "#cf222e"
    rows = "".join(
        f"<tr><td>{esc(str(name))}</td><td>{_count(entry.get('before'))}</td><td>{_count(entry.get('after'))}</td>"
        f"<td>{esc(str(entry.get('status', '')))}{_code(entry)}</td></tr>"
        for name, entry in results.items() if isinstance(entry, Mapping)
    )
    clean = verification.get("clean")
    outcome = ("nothing requested for deletion was found afterwards" if clean
               else "something requested for deletion was still found afterwards (see the table)")
    notes = "".join(f"<li>{esc(str(n))}</li>" for n in verification.get("notes") or [])
    missing = ", ".join(esc(str(p)) for p in receipt.get("missingProjects") or [])
    kid = esc(str(signature.get("keyId", "?")))
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>Deletion receipt {esc(request_id)}</title></head><body>"
        f"<h1>Deletion receipt {esc(request_id)}</h1>"
        f"<p style='font-size:1.2em;color:{colour}'><b>{verdict}</b>: {esc(reason)}</p>"
        f"<p>Resource <b>{esc(str(receipt.get('resource', '?')))}</b>: {esc(str(receipt.get('operation', '')))} "
        f"started {esc(str(receipt.get('startedAt', '?')))}, completed {esc(str(receipt.get('completedAt', '?')))}. "
        f"Checked again at {esc(str(verification.get('checkedAt', '?')))}: {outcome}.</p>"
        "<table border='1' cellpadding='4'><tr><th>category</th><th>before</th><th>after</th><th>status</th></tr>"
        f"{rows}</table>"
        + (f"<ul>{notes}</ul>" if notes else "")
        + _impact(receipt.get("modelImpact"))
        + (f"<p>Projects not found (nothing to delete): {missing}</p>" if missing else "")
        + "<h2>Check it yourself</h2>"
        f"<p>The receipt <code>{esc(receipt_path(request_id))}</code> is signed with "
        f"{esc(str(signature.get('alg', '?')))}, key <code>{kid}</code>. The public keys are published as a JSON "
        f"Web Key Set at {esc(keys_source)}; the private key cannot be read by anyone, us included.</p><ol>"
        "<li>Take the receipt JSON, remove its <code>signature</code> member and serialise the rest as RFC 8785 "
        "canonical JSON (JCS). These are the signed bytes.</li>"
        "<li><code>signature.jws</code> is a JWS with its payload detached (<code>header..signature</code>): put "
        "the base64url of the signed bytes between the two dots and verify it as ES256 with the key whose "
        f"<code>kid</code> is <code>{kid}</code>, using any JOSE library.</li>"
        "<li>Or run <code>python -m dsr.receipt verify receipt.json --jwks &lt;key set URL or file&gt;</code>. "
        "Changing a single byte of the receipt or of its signature makes the check fail.</li></ol>"
        "</body></html>\n"
    )


def _impact(impact: Any) -> str:
    """A subject receipt's trained models that learned from the deleted images."""
    if not isinstance(impact, list) or not impact:
        return ""
    items = "".join(
        f"<li>{html.escape(str(m.get('resource')))} / project {html.escape(str(m.get('projectId')))}: "
        f"{html.escape(str(m.get('name')))} ({html.escape(str(m.get('iterationId')))})"
        + (f", published as {html.escape(str(m['publishName']))}" if m.get("publishName") else "") + "</li>"
        for m in impact if isinstance(m, Mapping))
    return ("<h2>Models trained on the deleted images</h2><p>These trained iterations learned from the deleted "
            f"images; the owner retrains without them and replaces these models.</p><ul>{items}</ul>")


def _count(value: Any) -> str:
    return "-" if value is None else html.escape(str(value))


def _code(entry: Mapping[str, Any]) -> str:
    return f" ({html.escape(str(entry['errorCode']))})" if entry.get("errorCode") else ""
