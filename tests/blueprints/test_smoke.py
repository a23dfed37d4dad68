def test_login_page_renders(client):
    resp = client.get("/login")
    assert resp.status_code == 200
    assert b'name="username"' in resp.data


def test_agent_lands_on_calls(login):
    c = login("agent")
    resp = c.get("/", follow_redirects=True)
    assert b"Call queue" in resp.data
