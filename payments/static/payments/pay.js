/* The pay page: Stripe.js on our own page.
 * With Stripe's own Stripe.js the Payment Element (card, Bancontact) confirms on the client
 * and Stripe sends the citizen to our return page. With localstripe's Stripe.js (development,
 * tests), which has only the card element, the card is tokenised and our server confirms. */
(function () {
  "use strict";
  var form = document.getElementById("payment-form");
  if (!form || typeof Stripe === "undefined") { return; }
  var data = form.dataset;
  var stripe = Stripe(data.publishableKey, { locale: data.locale });
  var message = document.getElementById("payment-message");
  var button = document.getElementById("pay-button");
  var buttonText = button.textContent;

  function show(text) { message.textContent = text || data.msgError; }
  function busy(on) {
    button.disabled = on;
    button.textContent = on ? data.msgBusy : buttonText;
    form.setAttribute("aria-busy", on ? "true" : "false");
  }
  function csrfToken() {
    var input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  if (typeof stripe.confirmPayment === "function") {
    var elements = stripe.elements({ clientSecret: data.clientSecret, locale: data.locale });
    elements.create("payment").mount("#payment-element");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      busy(true);
      stripe.confirmPayment({ elements: elements, confirmParams: { return_url: data.returnUrl } })
        .then(function (result) { if (result.error) { show(result.error.message); busy(false); } });
    });
    return;
  }

  var card = stripe.elements().create("card");
  card.mount("#payment-element");
  // localstripe's inputs come with placeholders only: give each an accessible name.
  var inputs = document.querySelectorAll("#payment-element input");
  Array.prototype.forEach.call(inputs, function (input) {
    var label = form.getAttribute("data-label-" + input.getAttribute("placeholder"));
    if (label) { input.setAttribute("aria-label", label); input.setAttribute("autocomplete", "off"); }
    input.setAttribute("inputmode", "numeric");
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    message.textContent = "";
    busy(true);
    stripe.createToken(card).then(function (result) {
      if (result.error || !result.token) { show(data.msgCard); busy(false); return null; }
      return fetch(data.confirmUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(), "Accept": "application/json",
                   "Content-Type": "application/x-www-form-urlencoded" },
        body: "token=" + encodeURIComponent(result.token.id)
      }).then(function (response) {
        return response.json().catch(function () { return {}; });
      }).then(function (body) {
        if (body.redirect) { window.location.assign(body.redirect); return; }
        show(body.message); busy(false);
      });
    }).catch(function () { show(data.msgError); busy(false); });
  });
}());
