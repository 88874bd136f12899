// The search results' excerpts come from the text of each page found (Sphinx's searchtools):
// take the article's text, not the breadcrumbs and the links to the previous and next pages
// around it (a page whose text lacks the exact word found shows its opening lines, not "User
// guide Development"), with its runs of white space as one space (an excerpt is 240
// characters of it: of text, not of the page source's indentation).
(() => {
  if (typeof Search === "undefined") return; // every page but the search page
  const htmlToText = Search.htmlToText;
  Search.htmlToText = (htmlString, anchor) => {
    const page = new DOMParser().parseFromString(htmlString, "text/html");
    page.querySelectorAll(".bd-header-article, .bd-footer-article, .prev-next-area")
      .forEach((element) => element.remove());
    return htmlToText(page.documentElement.outerHTML, anchor).replace(/\s+/g, " ");
  };
})();
