"""Sort orders, tombstones, nesting and keyset paging, read through the API from threads with known votes."""
from __future__ import annotations

import time

import pytest

from tests.api.conftest import ApiClient, head
from tests.conftest import unique_key

# name: (up, down). Posted in this order. Scores: A 1, B 4, C 5, D 3, E 0, F -2, G 1.
VOTES = {"A": (1, 0), "B": (6, 2), "C": (10, 5), "D": (3, 0), "E": (0, 0), "F": (0, 2), "G": (2, 1)}
EXPECTED = {
    "oldest": "ABCDEFG",
    "newest": "GFEDCBA",
    # score, then oldest: A and G tie at 1
    "most_voted": "CBDAGEF",
    # Wilson lower bounds: D .4385, C .4171, B .4093, G .2077, A .2065, E 0, F 0 (tie: oldest first)
    "best": "DCBGAEF",
    # sign*log10(|score|) + age term: C .699, B .602, D .477, then A, E, G all 0 -> newest first, F -.301
    "hot": "CBDGEAF",
}


@pytest.fixture(scope="module")
def voted_thread(django_db_setup, django_db_blocker):
    """Built once per module (the data is committed and never changes afterwards)."""
    with django_db_blocker.unblock():
        yield _build_voted_thread(ApiClient(), unique_key("sorts"))


def _build_voted_thread(api, key):
    from threadlog.commands import Actor, CastVote, handle

    ids = {}
    for name in VOTES:
        ids[name] = api.comment(key, f"comment {name}", name=name)["id"]
        time.sleep(0.03)  # the hot sort's age term must separate A, E and G (7 decimals of 1/45000 per second)
    for name, (up, down) in VOTES.items():
        for i in range(up):
            handle(CastVote(comment_id=ids[name], value=1), Actor(f"guest:{key}-up-{i}"))
        for i in range(down):
            handle(CastVote(comment_id=ids[name], value=-1), Actor(f"guest:{key}-down-{i}"))
    return key, ids


def _names(page, ids):
    by_id = {v: k for k, v in ids.items()}
    return "".join(by_id[c["id"]] for c in page["comments"])


@pytest.mark.parametrize("sort", list(EXPECTED))
def test_sort_orders(api, voted_thread, sort):
    key, ids = voted_thread
    page = api.comments(key, sort=sort)
    assert _names(page, ids) == EXPECTED[sort]
    for c in page["comments"]:
        up, down = VOTES[c["author"]["name"]]
        assert (c["up"], c["down"], c["score"]) == (up, down, up - down)


@pytest.mark.parametrize("sort", list(EXPECTED))
@pytest.mark.parametrize("limit", [1, 2, 3])
def test_cursor_paging_in_every_sort(api, voted_thread, sort, limit):
    key, ids = voted_thread
    seen, cursor, pages = "", None, 0
    while True:
        params = {"sort": sort, "limit": limit}
        if cursor:
            params["cursor"] = cursor
        page = api.comments(key, **params)
        assert len(page["comments"]) <= limit
        seen += _names(page, ids)
        cursor = page["next_cursor"]
        pages += 1
        if cursor is None:
            break
        assert pages < 20
    assert seen == EXPECTED[sort]
    assert pages == -(-len(VOTES) // limit)


@pytest.mark.parametrize("sort", list(EXPECTED))
def test_time_travel_sorts_like_live(api, voted_thread, sort):
    key, ids = voted_thread
    live = api.comments(key, sort=sort)
    past = api.comments(key, sort=sort, at=head())
    assert past["comments"] == live["comments"]
    # paging in the past with cursors gives the same order
    first = api.comments(key, sort=sort, at=head(), limit=4)
    rest = api.comments(key, sort=sort, at=head(), limit=4, cursor=first["next_cursor"])
    assert _names(first, ids) + _names(rest, ids) == EXPECTED[sort]


def test_votes_reorder_a_sort(api, make_client, key):
    a = api.comment(key, "a")["id"]
    b = api.comment(key, "b")["id"]
    assert [c["id"] for c in api.comments(key, sort="most_voted")["comments"]] == [a, b]
    make_client().vote(b, 1)
    assert [c["id"] for c in api.comments(key, sort="most_voted")["comments"]] == [b, a]
    assert [c["id"] for c in api.comments(key, sort="best")["comments"]] == [b, a]
    voter = make_client()
    voter.vote(a, 1)
    voter.vote(a, 1)  # the same voter twice counts once
    assert [c["id"] for c in api.comments(key, sort="most_voted")["comments"]] == [a, b]  # tie: oldest first
    make_client().vote(a, -1)
    assert [c["id"] for c in api.comments(key, sort="most_voted")["comments"]] == [b, a]


def test_deleted_comment_with_replies_stays_as_tombstone(api, make_client, key):
    author = api
    top = author.comment(key, "I will delete this", name="Ann")
    other = make_client()
    r1 = other.comment(key, "reply 1", name="Bob", parent_id=top["id"])
    r2 = other.comment(key, "reply to reply", name="Bob", parent_id=r1["id"])
    r3 = other.comment(key, "reply 2", name="Bob", parent_id=top["id"])
    leaf = author.comment(key, "a leaf to delete", name="Ann")
    make_client().vote(top["id"], 1)
    before_deletes = head()
    assert author.delete(f"/api/comments/{top['id']}").status_code == 200
    assert author.delete(f"/api/comments/{leaf['id']}").status_code == 200
    assert other.delete(f"/api/comments/{r3['id']}").status_code == 200

    for sort in EXPECTED:
        page = api.comments(key, sort=sort)
        assert page["comment_count"] == 2  # r1 and r2 remain
        assert [c["id"] for c in page["comments"]] == [top["id"]]  # the deleted leaf is gone entirely
        tomb = page["comments"][0]
        assert tomb["deleted"] is True
        assert tomb["author"] == {"name": "[deleted]"} and tomb["body_html"] == ""
        assert "I will delete this" not in str(page) and "Ann" not in str(page)
        assert tomb["reply_count"] == 1
        assert [r["id"] for r in tomb["replies"]] == [r1["id"]]  # the deleted reply r3 is dropped
        assert tomb["replies"][0]["author"] == {"name": "Bob"} and "reply 1" in tomb["replies"][0]["body_html"]
        assert [r["id"] for r in tomb["replies"][0]["replies"]] == [r2["id"]]
    # replies to a tombstone are refused, replies to its kept replies are fine
    assert api.post(f"/api/threads/{key}/comments",
                    {"body": "x", "author_name": "C", "parent_id": top["id"]}).status_code == 409
    make_client().comment(key, "still possible", parent_id=r2["id"])
    # the thread as it stood before the deletions still shows the original
    past = api.comments(key, at=before_deletes)
    assert past["comments"][0]["deleted"] is False and "I will delete this" in past["comments"][0]["body_html"]
    assert [c["id"] for c in past["comments"]] == [top["id"], leaf["id"]] and past["comment_count"] == 5


def test_nested_replies_oldest_first_to_depth_4_and_more(api, make_client, key):
    c = api.comment
    top = c(key, "top")
    other_top = c(key, "other top")
    r1 = c(key, "r1", parent_id=top["id"])
    r2 = c(key, "r2", parent_id=r1["id"])
    r3 = c(key, "r3", parent_id=r2["id"])
    r4 = c(key, "r4", parent_id=r3["id"])
    r5 = c(key, "r5", parent_id=r4["id"])
    r1b = c(key, "r1b", parent_id=top["id"])
    r2b = c(key, "r2b", parent_id=r1["id"])
    r4b = c(key, "r4b", parent_id=r3["id"])
    o1 = c(key, "o1", parent_id=other_top["id"])
    make_client().vote(r1b["id"], 1)  # votes never reorder replies

    def shape(node):
        return (node["id"], node["depth"], node["reply_count"], [shape(r) for r in node["replies"]])

    expected_top = (top["id"], 0, 2, [
        (r1["id"], 1, 2, [
            (r2["id"], 2, 1, [
                (r3["id"], 3, 2, [
                    (r4["id"], 4, 1, [(r5["id"], 5, 0, [])]),
                    (r4b["id"], 4, 0, []),
                ]),
            ]),
            (r2b["id"], 2, 0, []),
        ]),
        (r1b["id"], 1, 0, []),
    ])
    expected_other = (other_top["id"], 0, 1, [(o1["id"], 1, 0, [])])
    for sort in EXPECTED:
        page = api.comments(key, sort=sort)
        shapes = {s[0]: s for s in map(shape, page["comments"])}
        assert shapes == {top["id"]: expected_top, other_top["id"]: expected_other}
        assert page["comment_count"] == 11
    # a page of one top-level comment carries its own replies only
    first = api.comments(key, limit=1)
    assert [shape(n) for n in first["comments"]] == [expected_top]
    second = api.comments(key, limit=1, cursor=first["next_cursor"])
    assert [shape(n) for n in second["comments"]] == [expected_other]


def test_keyset_paging_while_comments_are_added(api, make_client, key):
    """Paging `oldest` while others post: every comment exactly once, in order, none skipped."""
    writer = make_client()
    posted = [writer.comment(key, f"initial {i}")["id"] for i in range(5)]
    seen: list[str] = []
    cursor = None
    rounds = 0
    while True:
        params = {"sort": "oldest", "limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = api.comments(key, **params)
        seen += [c["id"] for c in page["comments"]]
        cursor = page["next_cursor"]
        rounds += 1
        if cursor is None:
            break
        if rounds <= 6:  # others keep writing between our pages: new comments, replies, votes
            posted.append(writer.comment(key, f"during {rounds}a")["id"])
            posted.append(make_client().comment(key, f"during {rounds}b")["id"])
            writer.comment(key, "a reply is not top-level", parent_id=posted[0])
            make_client().vote(posted[rounds], 1)
        assert rounds < 30
    assert len(seen) == len(set(seen)), "duplicates"
    assert seen == posted, "skipped or reordered"
    # a reader who arrives after the writers stopped, via `newest`, sees the same set
    newest, cursor = [], None
    while True:
        page = api.comments(key, sort="newest", limit=4, **({"cursor": cursor} if cursor else {}))
        newest += [c["id"] for c in page["comments"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert newest == posted[::-1]


def test_vote_sort_paging_is_stable_with_at(api, make_client, key):
    """docs/sorting.md: votes may move comments between live pages; paging with at=P is a stable listing."""
    ids = [api.comment(key, f"c{i}")["id"] for i in range(6)]
    for i, cid in enumerate(ids):
        for _ in range(i % 3):
            make_client().vote(cid, 1)
    first = api.comments(key, sort="most_voted", limit=3)
    at = first["position"]
    # while we page, the last comment of the first page drops and a second-page one climbs to the top
    for _ in range(4):
        make_client().vote(first["comments"][-1]["id"], -1)
    rest = api.comments(key, sort="most_voted", limit=3, at=at, cursor=first["next_cursor"])
    seen = [c["id"] for c in first["comments"] + rest["comments"]]
    assert sorted(seen) == sorted(ids) and len(set(seen)) == 6
    assert rest["next_cursor"] is None and rest["position"] == at
    # the page at P equals the live order as it stood at P
    assert [c["id"] for c in api.comments(key, sort="most_voted", at=at)["comments"]] == seen
