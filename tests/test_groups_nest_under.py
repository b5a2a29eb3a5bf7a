"""A Group Admin's "Nest under" list names only groups they may see: nothing above their part
of the tree."""

import re

from mentorgroups.extensions import db
from mentorgroups.services import group_members, groups
from tests.factories import make_account, make_member

BASE = "/admin/community/groups"


def options(page: str) -> list[str]:
    select = re.search(r'<select[^>]*id="parent_id".*?</select>', page, re.S).group(0)
    return [re.sub(r"\s+", " ", label).strip()
            for label in re.findall(r"<option[^>]*>(.*?)</option>", select, re.S)]


def test_group_admin_sees_no_group_above_their_part_of_the_tree(client):
    account = make_account(plan="complete")
    admin = make_member(account, "admin")
    group_admin = make_member(account, "staff")
    top = groups.create_group(admin, account.id, "Secret Top")
    child = groups.create_group(admin, account.id, "Child", parent_id=top.id)
    grandchild = groups.create_group(admin, account.id, "Grandchild", parent_id=child.id)
    groups.create_group(admin, account.id, "Secret Sibling", parent_id=top.id)
    group_members.add_members(admin, account.id, child.id, "group_admin",
                              user_ids=[group_admin.id])
    db.session.commit()
    client.login(group_admin.email)

    new = client.get(f"{BASE}/new").get_data(as_text=True)
    assert options(new) == ["Child", "Child \u203a Grandchild"]
    nested = client.get(f"{BASE}/{grandchild.id}/manage").get_data(as_text=True)
    assert options(nested) == ["Child"]
    own = client.get(f"{BASE}/{child.id}/manage").get_data(as_text=True)
    assert options(own) == ["Where it is now (under a group outside the ones you manage)"]
    for page in (new, nested, own):
        assert "Secret" not in page

    # The account admin still sees the whole path.
    client.post("/logout", data={"csrf_token": client.csrf(f"{BASE}/")})
    client.login(admin.email)
    page = client.get(f"{BASE}/{grandchild.id}/manage").get_data(as_text=True)
    assert "Secret Top \u203a Child" in options(page)
