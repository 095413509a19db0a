"""One theme: the admin, Swagger UI and ReDoc in the dashboard's dark palette, served from this host
only (the browser side is checked by the dashboard tour: no CSP error, no request elsewhere)."""


def test_admin_uses_the_dark_palette(admin_client):
    body = admin_client.get("/admin/").content.decode()
    assert "css/admin-dark.css" in body and "MissionOps administration" in body


def test_admin_names_webhook_deliveries_in_plain_english(admin_client):
    assert "Webhook deliveries" in admin_client.get("/admin/").content.decode()


def test_swagger_ui_gets_the_dark_stylesheet(admin_client):
    assert "css/api-docs-dark.css" in admin_client.get("/api/docs/").content.decode()


def test_redoc_loads_no_web_font_or_foreign_asset(admin_client):
    response = admin_client.get("/api/redoc/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "googleapis" not in body and "gstatic" not in body and "cdn." not in body
    assert "js/redoc_offline.js" in body
    assert "sidebar" in body and "#1a2129" in body  # the dark theme reaches ReDoc's settings
    assert "blob:" in response["Content-Security-Policy"].split("worker-src")[1].split(";")[0]
