// Renders the few mdast nodes the landing page takes from the README (paragraphs, lists, code, inline
// formatting). README links to repository files point at the repository when the site knows its URL.
import type { ReactNode } from 'react';
import type { RootContent } from 'mdast';
import CodeBlock from '@theme/CodeBlock';

export interface MarkdownProps {
  nodes: RootContent[];
  repositoryUrl?: string;
}

function render(node: RootContent, key: number, repositoryUrl: string | undefined): ReactNode {
  const children = (nodes: RootContent[]) => nodes.map((child, index) => render(child, index, repositoryUrl));
  switch (node.type) {
    case 'paragraph': return <p key={key}>{children(node.children)}</p>;
    case 'list': {
      const List = node.ordered ? 'ol' : 'ul';
      return <List key={key}>{children(node.children)}</List>;
    }
    // A tight list item's paragraph is rendered without its <p>, as Markdown does.
    case 'listItem': return <li key={key}>{node.children.flatMap((child) => (child.type === 'paragraph' ? children(child.children) : [render(child, 0, repositoryUrl)]))}</li>;
    case 'code': return <CodeBlock key={key} language={node.lang ?? undefined}>{node.value}</CodeBlock>;
    case 'text': return node.value;
    case 'inlineCode': return <code key={key}>{node.value}</code>;
    case 'strong': return <strong key={key}>{children(node.children)}</strong>;
    case 'emphasis': return <em key={key}>{children(node.children)}</em>;
    case 'break': return <br key={key} />;
    case 'link': {
      if (/^https?:/.test(node.url)) return <a key={key} href={node.url}>{children(node.children)}</a>;
      if (repositoryUrl) return <a key={key} href={`${repositoryUrl}/blob/main/${node.url.replace(/^\.\//, '')}`}>{children(node.children)}</a>;
      return <span key={key}>{children(node.children)}</span>;
    }
    default: return null;
  }
}

export default function Markdown({ nodes, repositoryUrl }: MarkdownProps): ReactNode {
  return <>{nodes.map((node, index) => render(node, index, repositoryUrl))}</>;
}
