/* ReDoc draws a "by Redocly" logo from cdn.redoc.ly: point any image at that CDN to our own icon
   before it is requested, so the API docs ask nothing of another host. */
(function () {
  const local = "/static/img/favicon.svg";
  const foreign = function (value) { return typeof value === "string" && value.indexOf("https://cdn.redoc.ly/") === 0; };
  const setAttribute = Element.prototype.setAttribute;
  Element.prototype.setAttribute = function (name, value) {
    return setAttribute.call(this, name, this.tagName === "IMG" && name === "src" && foreign(value) ? local : value);
  };
  const src = Object.getOwnPropertyDescriptor(HTMLImageElement.prototype, "src");
  Object.defineProperty(HTMLImageElement.prototype, "src", {
    get: src.get,
    set: function (value) { src.set.call(this, foreign(value) ? local : value); },
    configurable: true,
  });
})();
