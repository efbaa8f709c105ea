// The thread key of a page, as the embed derives it when the page names none: its path with "/" written as
// "~", any other character outside A-Z a-z 0-9 . _ ~ - written as "-", at most 200 characters ("~" for "/").
// One definition for every script that derives keys (count.js; embed.js should import it too), so a count on
// an index page always names the thread the embed on the article opens.

export function threadKey(location) {
  const url = typeof location === 'string' ? new URL(location, window.location.href) : location;
  return url.pathname.replace(/\//g, '~').replace(/[^A-Za-z0-9._~-]/g, '-').slice(0, 200) || '~';
}
