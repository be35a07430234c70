/*
 * wikibridge ticket references: on a file page, marks each permission box
 * with what the volunteer response team's desk says of its ticket.
 *
 * Load it from your common.js:
 *   mw.loader.load('__DESK__/cited/userscript.js');
 *
 * It reads the desk's public API (public facts only: whether the ticket is
 * known, a permission ticket, and confirmed) and changes nothing on the wiki.
 */
(function () {
	'use strict';
	var API = '__DESK__/api/v1/tickets/';
	var MESSAGES = __MESSAGES__;
	var language = (window.mw && mw.config.get('wgUserLanguage')) || 'en';
	var words = MESSAGES[language] || MESSAGES[language.split('-')[0]] || MESSAGES.en;
	var TICKET = /[?&;]TicketNumber=(\d+)/i;

	function badge(status) {
		var span = document.createElement('span');
		span.className = 'wikibridge-ref wikibridge-ref-' + status;
		span.setAttribute('data-wikibridge-status', status);
		span.textContent = words[status] || words.unknown;
		span.title = words.title;
		span.style.marginLeft = '0.4em';
		span.style.padding = '0 0.3em';
		span.style.borderRadius = '0.2em';
		span.style.fontSize = '90%';
		span.style.background = status === 'confirmed' ? '#d5fdf4' : status === 'pending' ? '#fef6e7' : '#fee7e6';
		span.style.color = '#202122';
		return span;
	}

	function mark(link, number) {
		var request = new XMLHttpRequest();
		request.open('GET', API + encodeURIComponent(number));
		request.onload = function () {
			var status = 'unknown';
			if (request.status === 200) {
				try {
					status = JSON.parse(request.responseText).status || 'unknown';
				} catch (e) {
					status = 'unknown';
				}
			} else {
				status = 'unavailable';
			}
			link.parentNode.insertBefore(badge(status), link.nextSibling);
		};
		request.onerror = function () {
			link.parentNode.insertBefore(badge('unavailable'), link.nextSibling);
		};
		request.send();
	}

	function run() {
		var links = document.querySelectorAll('#mw-content-text a[href*="TicketNumber="]');
		var seen = {};
		for (var i = 0; i < links.length; i++) {
			var match = TICKET.exec(links[i].getAttribute('href') || '');
			if (!match || seen[match[1] + ':' + i]) {
				continue;
			}
			seen[match[1] + ':' + i] = true;
			mark(links[i], match[1]);
		}
	}

	if (window.mw && mw.config.get('wgNamespaceNumber') !== 6) {
		return;
	}
	if (document.readyState === 'loading') {
		document.addEventListener('DOMContentLoaded', run);
	} else {
		run();
	}
}());
