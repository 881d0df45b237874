async def test_sign_up_then_me_returns_the_owner(company):
    data = await company.api.ok("{ me { id email role account { id currency } } }")
    assert data["me"]["role"] == "OWNER"
    assert data["me"]["account"]["id"] == company.account_id
